"""Service levels of requests (``core.sla``), for the desk: the resolution clock, paused while
the team waits for the player; the chat's first answer; the team's next answer after the
player writes on the request. A target missed is marked once: a history entry, a
``request.sla_breached`` webhook, the count in /metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..core.conversation import Conversation
from ..core.hours import Hours
from ..core.lifecycle import Step
from ..core.sla import SlaClock, SlaPolicy, deadline, elapsed, policy_for
from ..core.topics import RoutingConfig
from ..store import EnqueueWebhooks, Store
from ..store.outbox import WEBHOOK_INSERT, webhook_rows
from ..store.transitions import SlaState
from ..webhooks import request_updated_body

__all__ = ["REPLY_CLEAR", "ServiceLevels"]

Rows = list[tuple[str, list[tuple[Any, ...]]]]

# nothing owed to a follow-up any more: it was answered, or the request moved on
REPLY_CLEAR = "UPDATE requests SET reply_due = NULL WHERE number = ?"
_REPLY_DUE = "UPDATE requests SET reply_due = ?, reply_breached_at = NULL WHERE number = ?"
# a history entry about a service level, at the request's status as it is
_SLA_EVENT = (
    "INSERT INTO request_events (number, at, actor, from_status, to_status, note, kind)"
    " SELECT number, ?, 'system', status, status, ?, 'sla' FROM requests WHERE number = ?"
)


class ServiceLevels:
    """The desk's part that keeps targets; it has the desk's store, settings and clock."""

    store: Store
    settings: Settings
    routing: RoutingConfig
    clock: Callable[[], float]
    poke: Callable[[], None]
    breaches: dict[str, int]

    def _targets(self, topic: str, priority: int) -> SlaPolicy | None:
        return policy_for(self.routing.sla, topic, priority)

    def _hours(self, department: str) -> tuple[Hours, str]:
        dep = self.routing.departments.get(department)
        return (dep.hours, dep.timezone) if dep is not None else (Hours(), "UTC")

    def sla_start(
        self, topic: str, priority: int, department: str, now: float
    ) -> tuple[float | None, float | None]:
        """(budget, due) of a new request's resolution target; (None, None) without one."""
        policy = self._targets(topic, priority)
        if policy is None or policy.resolution is None:
            return None, None
        hours, tz = self._hours(department)
        return policy.resolution, deadline(now, policy.resolution, hours, tz)

    def timing(self, department: str, clock: SlaState, st: Step, now: float) -> SlaState:
        """How a change moves a request's clock: paused while waiting for the player (or
        once resolved), running again when the team owes an answer."""
        hours, tz = self._hours(department)
        assert clock.budget is not None
        c = SlaClock(clock.budget, clock.spent, clock.since)
        if st.pause_sla:
            c = c.pause(now, hours, tz)
        elif st.resume_sla:
            c = c.resume(now)
        return SlaState(c.budget, c.spent, c.since, c.due(hours, tz))

    # -- the chat's first answer -------------------------------------------------------------

    def first_response_missed(self, conv: Conversation, now: float) -> float | None:
        """Business seconds the chat waited for its first answer (to ``now`` if none came),
        when that is past its first-response target; else None."""
        if not any(p.first_response is not None for p in self.routing.sla):
            return None  # (the floor asks of every live chat every two seconds)
        policy = self._targets(conv.player.topic, conv.priority)
        if policy is None or policy.first_response is None:
            return None
        hours, tz = self._hours(conv.department)
        took = elapsed(conv.created_at, conv.first_response_at or now, hours, tz)
        return took if took > policy.first_response else None

    def first_response_rows(self, number: str, took: float, now: float) -> Rows:
        """What a missed first answer writes on the request: history (at the status the
        request has when it is written), webhook."""
        self.breaches["first_response"] += 1
        note = f"The first-response target was missed: the first answer took {_span(took)}."
        rows: Rows = [(_SLA_EVENT, [(now, note, number)])]
        return rows + self._breach_hook(number, "first_response", now)

    # -- the team's next answer --------------------------------------------------------------

    def reply_rows(self, number: str, topic: str, priority: int, department: str) -> Rows:
        """The player wrote on the request: when the team's answer is due (nothing without
        a next-response target)."""
        policy = self._targets(topic, priority)
        if policy is None or policy.next_response is None:
            return []
        hours, tz = self._hours(department)
        return [(_REPLY_DUE, [(deadline(self.clock(), policy.next_response, hours, tz), number)])]

    # -- breaches ----------------------------------------------------------------------------

    def _breach_hook(self, number: str, target: str, now: float) -> Rows:
        event = "request.sla_breached"
        urls = self.settings.hooks(event)
        if not urls:
            return []
        body = request_updated_body(number, self.settings.base_url)
        body["sla"] = {"target": target, "breached_at": now}
        op = EnqueueWebhooks(event, urls, lambda: body, now)
        return [(WEBHOOK_INSERT, webhook_rows(op))]

    async def check_breaches(self) -> int:
        """Mark every request past its resolution or next-response target, once."""
        now = self.clock()
        done = 0
        for target in ("resolution", "next_response"):
            for number in await self.store.sla_overdue(now, 100, target):
                rows = self._breach_hook(number, target, now)
                if await self.store.mark_breached(number, now, rows, target):
                    done += 1
                    self.breaches[target] += 1
        if done:
            self.poke()
        return done


def _span(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"
