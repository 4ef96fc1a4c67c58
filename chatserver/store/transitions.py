"""The records of a request's change and of a notification to its player."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.lifecycle import Step

__all__ = ["Extras", "Notification", "SlaState", "Timing", "Transition"]


@dataclass(frozen=True, slots=True)
class SlaState:
    """A request's resolution clock as stored (core.sla): None budget, no target."""

    budget: float | None
    spent: float
    since: float | None
    due: float | None


# how a change moves the clock: (department, state before, the step, now) -> state after
Timing = Callable[[str, SlaState, Step, float], SlaState]


@dataclass(frozen=True, slots=True)
class Transition:
    """A change as it was decided: the request, its player's contacts, from and to."""

    number: str
    from_status: str
    to_status: str
    step: Step
    priority: int
    topic: str
    department: str
    name: str | None
    email: str | None
    phone: str | None
    locale: str | None


Extras = Callable[[Transition], list[tuple[str, list[tuple[Any, ...]]]]]


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    number: str
    kind: str
    channel: str
    recipient: str
    subject: str
    body: str
    attempts: int
