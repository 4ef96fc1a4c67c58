"""A request's life after (and between) its chats: a pure state machine.

Statuses:

- ``open``: the team owes an answer (a new request, or the player wrote again);
- ``pending``: waiting for the player (a document, a transaction id); SLA clocks pause;
- ``awaiting_confirmation``: the agent resolved a request whose topic closes only on the
  player's word (``confirm_close``); the player answers "resolved" or "not resolved";
- ``escalated``: in the supervisors' queue, at a higher priority (the player said "not
  resolved", or an agent escalated it);
- ``resolved``: solved (topics without ``confirm_close``); may still be closed or reopened;
- ``closed``: done.

``step(current, event, confirm_close=...)`` says what an event does: the next status, and
whether the priority goes up, SLA clocks pause or resume, and the player is told. Anything
else is ``StateError("wrong_state")``. Pure: no clock, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..exceptions import ClientError, StateError

__all__ = ["Event", "Status", "Step", "parse_status", "step"]


class Status(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Event(StrEnum):
    PLAYER_MESSAGE = "player_message"  # a follow-up from the widget, or a new chat on it
    AGENT_REPLY = "agent_reply"
    ASK_INFO = "ask_info"  # the agent asks the player for something
    RESOLVE = "resolve"
    CONFIRM = "confirm"  # the player: "resolved"
    REJECT = "reject"  # the player: "not resolved"
    ESCALATE = "escalate"  # an agent hands it to supervisors
    CLOSE = "close"
    REOPEN = "reopen"
    CONFIRM_TIMEOUT = "confirm_timeout"  # no answer to "resolved?" in time


@dataclass(frozen=True, slots=True)
class Step:
    to: Status
    priority_up: bool = False
    pause_sla: bool = False  # waiting for the player: the clocks stop
    resume_sla: bool = False  # the team owes an answer again
    notify: bool = False  # the player is told (e-mail, SMS)


S, E = Status, Event
_WORKING = (S.OPEN, S.ESCALATED)


def step(current: Status, event: Event, *, confirm_close: bool = False) -> Step:
    """What ``event`` does to a request in ``current``."""
    if event is E.PLAYER_MESSAGE:
        if current is S.PENDING:
            return Step(S.OPEN, resume_sla=True)
        if current in (S.RESOLVED, S.CLOSED):
            return Step(S.OPEN, resume_sla=True, notify=True)  # reopened by the player
        return Step(current)  # open, escalated, awaiting confirmation: stored, no change
    if event is E.AGENT_REPLY:
        if current in (*_WORKING, S.PENDING):
            return Step(current, notify=True)
    elif event is E.ASK_INFO:
        if current in _WORKING:
            return Step(S.PENDING, pause_sla=True, notify=True)
    elif event is E.RESOLVE:
        if current in (*_WORKING, S.PENDING):
            if confirm_close:
                return Step(S.AWAITING_CONFIRMATION, pause_sla=True, notify=True)
            return Step(S.RESOLVED, pause_sla=True, notify=True)
    elif event is E.CONFIRM:
        if current is S.AWAITING_CONFIRMATION:
            return Step(S.CLOSED, notify=True)
    elif event is E.REJECT:
        if current is S.AWAITING_CONFIRMATION:
            return Step(S.ESCALATED, priority_up=True, resume_sla=True, notify=True)
    elif event is E.ESCALATE:
        if current in (S.OPEN, S.PENDING):
            return Step(S.ESCALATED, priority_up=True, resume_sla=current is S.PENDING)
    elif event is E.CLOSE:
        if current is not S.CLOSED:
            return Step(S.CLOSED, pause_sla=current in _WORKING, notify=True)
    elif event is E.REOPEN:
        if current in (S.RESOLVED, S.CLOSED, S.AWAITING_CONFIRMATION):
            return Step(S.OPEN, resume_sla=True, notify=True)
    elif event is E.CONFIRM_TIMEOUT:
        if current is S.AWAITING_CONFIRMATION:
            return Step(S.CLOSED, notify=True)
    raise StateError("wrong_state", f"a {current.value} request cannot take {event.value}")


def parse_status(raw: str) -> Status:
    try:
        return Status(raw)
    except ValueError:
        choices = ", ".join(s.value for s in Status)
        raise ClientError(
            "invalid_status", f"status must be one of {choices}", field="status"
        ) from None
