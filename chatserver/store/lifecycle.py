"""A request's life after its chat, as the store keeps it: each change follows the pure state
machine (``core.lifecycle``) and commits with its history entry, its webhook deliveries and
its notifications to the player; and the notifications' durable outbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from ..core.lifecycle import Event, Status, parse_status, step
from ..exceptions import NotFoundError
from .base import EnqueueWebhooks, RequestRecord
from .outbox import EVENT_INSERT, WEBHOOK_INSERT, webhook_rows
from .transitions import Extras, Notification, SlaState, Timing, Transition
from .tx import Row, Tx

__all__ = ["EVENT_FOR", "LifecycleQueries"]

T = TypeVar("T")

# what asking for a status (the console's and the API's status change) means
EVENT_FOR = {
    Status.OPEN: Event.REOPEN,
    Status.PENDING: Event.ASK_INFO,
    Status.RESOLVED: Event.RESOLVE,
    Status.AWAITING_CONFIRMATION: Event.RESOLVE,
    Status.ESCALATED: Event.ESCALATE,
    Status.CLOSED: Event.CLOSE,
}
MAX_PRIORITY = 9
# the earlier of the two targets the team owes on a request: a reply, the resolution
_EARLIER_DUE = (
    "CASE WHEN reply_due IS NOT NULL AND (sla_due IS NULL OR reply_due < sla_due)"
    " THEN reply_due ELSE sla_due END"
)
# a target's due and breached columns, and the history note of its breach
_TARGETS = {
    "resolution": ("sla_due", "sla_breached_at", "The resolution target was missed."),
    "next_response": ("reply_due", "reply_breached_at", "The next-response target was missed."),
}


def _notification(r: Row) -> Notification:
    return Notification(
        r["id"], r["number"], r["kind"], r["channel"], r["recipient"], r["subject"], r["body"],
        r["attempts"],
    )  # fmt: skip


class LifecycleQueries:
    """The driver supplies ``_fetch``, ``_transaction`` and ``request``."""

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def _transaction(self, work: Callable[[Tx], Awaitable[T]], what: str) -> T:
        raise NotImplementedError

    async def request(self, number: str) -> RequestRecord | None:
        raise NotImplementedError

    async def transition(
        self,
        number: str,
        event: Event,
        *,
        confirm_close: bool | Callable[[str], bool],
        actor: str,
        note: str | None,
        now: float,
        answer_token_hash: bytes | None = None,
        extras: Extras | None = None,
        timing: Timing | None = None,
    ) -> tuple[Transition, RequestRecord]:
        async def work(w: Tx) -> Transition:
            rows = await w.fetch(
                "SELECT r.status, r.priority, c.topic, c.department, c.player_name,"
                " c.player_email, c.player_phone, c.locale, r.sla_budget, r.sla_spent,"
                " r.sla_since, r.sla_due FROM requests r"
                " JOIN chats c ON c.id = r.chat_id WHERE r.number = ?",
                (number,),
            )
            if not rows:
                raise NotFoundError("request_not_found", "no request has this number")
            r = rows[0]
            current = Status(r["status"])
            # (a callable decides by the request's topic, read here)
            confirm = confirm_close(r["topic"]) if callable(confirm_close) else confirm_close
            st = step(current, event, confirm_close=confirm)
            priority = min(MAX_PRIORITY, r["priority"] + 1) if st.priority_up else r["priority"]
            awaiting = st.to is Status.AWAITING_CONFIRMATION
            clock = SlaState(r["sla_budget"], r["sla_spent"], r["sla_since"], r["sla_due"])
            if timing is not None and clock.budget is not None:
                clock = timing(r["department"], clock, st, now)
            await w.execute(
                "UPDATE requests SET status = ?, updated_at = ?, priority = ?,"
                " awaiting_since = ?, answer_token_hash = ?, sla_spent = ?, sla_since = ?,"
                " sla_due = ? WHERE number = ?",
                (
                    st.to.value, now, priority, now if awaiting else None,
                    answer_token_hash if awaiting else None, clock.spent, clock.since,
                    clock.due, number,
                ),
            )  # fmt: skip
            if st.to is not current or note:
                await w.execute(
                    EVENT_INSERT, (number, now, actor, current.value, st.to.value, note, "status")
                )
            t = Transition(
                number, current.value, st.to.value, st, priority, r["topic"], r["department"],
                r["player_name"], r["player_email"], r["player_phone"], r["locale"],
            )  # fmt: skip
            for sql, params in extras(t) if extras is not None else ():
                if params:
                    await w.executemany(sql, params)
            return t

        t = await self._transaction(work, "cannot change the request")
        rec = await self.request(number)
        assert rec is not None
        return t, rec

    async def change_request_status(
        self,
        number: str,
        wanted: str,
        *,
        actor: str,
        note: str | None,
        now: float,
        webhooks: EnqueueWebhooks | None = None,
        confirm_close: bool = False,
    ) -> RequestRecord:
        to = parse_status(wanted)
        event = EVENT_FOR[to]
        confirm = confirm_close or to is Status.AWAITING_CONFIRMATION

        def extras(t: Transition) -> list[tuple[str, list[tuple[Any, ...]]]]:
            return [(WEBHOOK_INSERT, webhook_rows(webhooks))] if webhooks is not None else []

        _, rec = await self.transition(
            number, event, confirm_close=confirm, actor=actor, note=note, now=now, extras=extras
        )
        return rec

    async def take_request(self, number: str, agent_id: int, *, actor: str, now: float) -> bool:
        async def work(w: Tx) -> bool:
            rows = await w.fetch("SELECT status FROM requests WHERE number = ?", (number,))
            if not rows:
                return False
            await w.execute(
                "UPDATE requests SET owner_agent_id = ?, updated_at = ? WHERE number = ?",
                (agent_id, now, number),
            )
            status = rows[0]["status"]
            await w.execute(
                EVENT_INSERT, (number, now, actor, status, status, f"taken by {actor}", "owner")
            )
            return True

        return await self._transaction(work, "cannot take the request")

    async def sla_overdue(self, now: float, limit: int, target: str = "resolution") -> list[str]:
        """Requests whose ``target`` (resolution, next_response) is due before ``now`` and
        not yet marked breached."""
        due, breached, _ = _TARGETS[target]
        rows = await self._fetch(
            f"SELECT number FROM requests WHERE {due} < ? AND {breached} IS NULL"
            f" ORDER BY {due} LIMIT ?",
            (now, limit),
        )
        return [str(r["number"]) for r in rows]

    async def mark_breached(
        self,
        number: str,
        now: float,
        rows: list[tuple[str, list[tuple[Any, ...]]]],
        target: str = "resolution",
    ) -> bool:
        """Mark the breach of ``target`` once, with its history entry and ``rows`` (webhooks)."""
        due, breached, note = _TARGETS[target]

        async def work(w: Tx) -> bool:
            got = await w.fetch(
                f"SELECT status FROM requests WHERE number = ? AND {breached} IS NULL"
                f" AND {due} < ?",
                (number, now),
            )
            if not got:
                return False
            await w.execute(f"UPDATE requests SET {breached} = ? WHERE number = ?", (now, number))
            status = got[0]["status"]
            await w.execute(EVENT_INSERT, (number, now, "system", status, status, note, "sla"))
            for sql, params in rows:
                if params:
                    await w.executemany(sql, params)
            return True

        return await self._transaction(work, "cannot mark the breach")

    async def record(self, rows: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        """Write ``rows`` (history, webhooks) in one transaction."""

        async def work(w: Tx) -> None:
            for sql, params in rows:
                if params:
                    await w.executemany(sql, params)

        await self._transaction(work, "cannot record it")

    async def request_by_answer_token(self, token_hash: bytes) -> str | None:
        rows = await self._fetch(
            "SELECT number FROM requests WHERE answer_token_hash = ?", (token_hash,)
        )
        return str(rows[0]["number"]) if rows else None

    async def request_by_link(self, token_hash: bytes, now: float) -> str | None:
        """The request a notification's link opens, while the link has not expired."""
        rows = await self._fetch(
            "SELECT number FROM request_links WHERE token_hash = ? AND expires_at > ?",
            (token_hash, now),
        )
        return str(rows[0]["number"]) if rows else None

    async def requests_in(
        self, statuses: Sequence[str], limit: int, *, by_due: bool = False
    ) -> list[RequestRecord]:
        marks = ", ".join("?" for _ in statuses)
        order = (
            f"{_EARLIER_DUE} IS NULL, {_EARLIER_DUE}, priority DESC, updated_at"
            if by_due
            else "priority DESC, updated_at"
        )
        rows = await self._fetch(
            f"SELECT number FROM requests WHERE status IN ({marks}) ORDER BY {order} LIMIT ?",
            (*statuses, limit),
        )
        out = []
        for row in rows:
            rec = await self.request(row["number"])
            if rec is not None:
                out.append(rec)
        return out

    async def requests_of_member(self, member_id: str, limit: int) -> list[dict[str, Any]]:
        """A member's requests, newest first: number, status, topic and times."""
        rows = await self._fetch(
            "SELECT r.number, r.status, c.topic, r.created_at, r.updated_at FROM chats c"
            " JOIN requests r ON r.chat_id = c.id WHERE c.member_id = ?"
            " ORDER BY c.created_at DESC LIMIT ?",
            (member_id, limit),
        )
        keys = ("number", "status", "topic", "created_at", "updated_at")
        return [{k: r[k] for k in keys} for r in rows]

    async def owed_counts(self, now: float, soon: float) -> tuple[int, int]:
        """Requests the team owes (open or escalated): how many are past a target (reply or
        resolution), and how many more are due before ``soon``."""
        rows = await self._fetch(
            "SELECT sum(CASE WHEN due < ? THEN 1 ELSE 0 END) AS late,"
            " sum(CASE WHEN due >= ? AND due < ? THEN 1 ELSE 0 END) AS soon"
            f" FROM (SELECT {_EARLIER_DUE} AS due FROM requests"
            " WHERE status IN ('open', 'escalated')) owed",
            (now, now, soon),
        )
        return int(rows[0]["late"] or 0), int(rows[0]["soon"] or 0)

    async def awaiting_since_before(self, cutoff: float, limit: int) -> list[str]:
        rows = await self._fetch(
            "SELECT number FROM requests WHERE status = 'awaiting_confirmation'"
            " AND awaiting_since < ? ORDER BY awaiting_since LIMIT ?",
            (cutoff, limit),
        )
        return [str(r["number"]) for r in rows]

    async def notifications_of(self, number: str) -> list[dict[str, Any]]:
        """Every notification about a request (for the person's data export)."""
        rows = await self._fetch(
            "SELECT kind, channel, recipient, subject, body, created_at, status, sent_at"
            " FROM notifications WHERE number = ? ORDER BY created_at",
            (number,),
        )
        return [dict(zip(r.keys(), tuple(r), strict=True)) for r in rows]

    async def due_notifications(self, now: float, limit: int) -> list[Notification]:
        rows = await self._fetch(
            "SELECT * FROM notifications WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at LIMIT ?",
            (now, limit),
        )
        return [_notification(r) for r in rows]

    async def notification_result(
        self, item: Notification, *, now: float, error: str | None, retry_at: float | None
    ) -> None:
        async def work(w: Tx) -> None:
            if error is None:
                await w.execute(
                    "UPDATE notifications SET status = 'sent', sent_at = ?,"
                    " attempts = attempts + 1, last_error = NULL WHERE id = ?",
                    (now, item.id),
                )
                rows = await w.fetch("SELECT status FROM requests WHERE number = ?", (item.number,))
                status = rows[0]["status"] if rows else "open"
                told = "E-mail" if item.channel == "email" else "SMS"
                note = f"{told} sent to {item.recipient}: {item.kind}"
                await w.execute(
                    EVENT_INSERT,
                    (item.number, now, "system", status, status, note, "notification"),
                )
            else:
                await w.execute(
                    "UPDATE notifications SET status = ?, attempts = attempts + 1,"
                    " last_error = ?, next_attempt_at = ? WHERE id = ?",
                    (
                        "pending" if retry_at is not None else "failed", error[:500],
                        retry_at if retry_at is not None else now, item.id,
                    ),
                )  # fmt: skip

        await self._transaction(work, "cannot record the notification")

    async def next_notification_at(self) -> float | None:
        rows = await self._fetch(
            "SELECT min(next_attempt_at) AS at FROM notifications WHERE status = 'pending'"
        )
        return float(rows[0]["at"]) if rows and rows[0]["at"] is not None else None
