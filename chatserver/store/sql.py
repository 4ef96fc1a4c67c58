"""What the SQLite and PostgreSQL stores share: the queries (the group commit's statements
are in ``batches``, the rows' records in ``rows``).

``SqlStore`` holds every query of the ``Store`` interface, written once in the SQL both
databases speak (``?`` placeholders; the PostgreSQL driver numbers them). A driver
subclass supplies the connection handling: ``_fetch`` for reads, ``_transaction`` for
writes (handing the work a ``Tx``), ``apply`` for group commit, and the few phrases
the dialects spell differently (``_agent_columns``, ``_ci_eq``, ``_like``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date
from importlib import resources
from typing import Any, TypeVar

from ..core.conversation import ChatState, Conversation, Message, Note, Player
from ..core.identity import Member
from ..exceptions import ConflictError, NotFoundError
from ..privacy.policy import Scope
from .accounts import AccountQueries
from .base import (
    AttachmentRecord,
    CannedResponse,
    ChatRecord,
    Delivery,
    FloorStats,
    FollowUp,
    RequestEvent,
    RequestRecord,
    RequestSummary,
    SessionRecord,
)
from .kb import KbQueries
from .lifecycle import LifecycleQueries
from .privacy import PrivacyQueries
from .qa import QaQueries
from .reports import ReportQueries
from .rows import (
    CHAT_COLUMNS,
    CHAT_FROM,
    MESSAGES,
    attachment_of,
    chat_record,
    delivery_of,
    message_of,
    note_of,
)
from .tx import Conflict, Row, Tx

__all__ = ["Conflict", "Row", "SqlStore", "Tx", "migrations"]

T = TypeVar("T")


def migrations(folder: str = "migrations") -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration in ``folder`` of the package, in order."""
    out = []
    for entry in resources.files("chatserver.store").joinpath(folder).iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            out.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(out)


class SqlStore(
    AccountQueries, KbQueries, LifecycleQueries, PrivacyQueries, QaQueries, ReportQueries
):
    """Every query of the ``Store`` interface; a driver subclass does the I/O."""

    _like = "LIKE"  # case-insensitive for ASCII in SQLite; PostgreSQL says ILIKE

    @staticmethod
    def _ci_eq(column: str) -> str:
        """``column = ?``, ignoring case."""
        return f"{column} = ? COLLATE NOCASE"

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def _transaction(self, work: Callable[[Tx], Awaitable[T]], what: str) -> T:
        """Run ``work`` in one write transaction; driver errors become StoreError."""
        raise NotImplementedError

    # -- reads -----------------------------------------------------------------

    async def live_chats(self) -> list[tuple[Conversation, SessionRecord]]:
        rows = await self._fetch(
            f"SELECT {CHAT_COLUMNS}, s.token_hash, s.created_at AS s_created,"
            f" s.locale AS s_locale, c.request_number AS continues {CHAT_FROM}"
            " JOIN sessions s ON s.id = c.session_id"
            " WHERE c.state != 'ended' ORDER BY c.queued_at"
        )
        msgs: dict[str, list[Message]] = {}
        for mrow in await self._fetch(
            MESSAGES + " WHERE m.chat_id IN (SELECT id FROM chats WHERE state != 'ended')"
            " ORDER BY m.chat_id, m.seq"
        ):
            msgs.setdefault(mrow["chat_id"], []).append(message_of(mrow))
        notes: dict[str, list[Note]] = {}
        for nrow in await self._fetch(
            "SELECT * FROM notes WHERE chat_id IN (SELECT id FROM chats WHERE state != 'ended')"
            " ORDER BY chat_id, after_seq, ts"
        ):
            notes.setdefault(nrow["chat_id"], []).append(note_of(nrow))
        out = []
        for row in rows:
            rec = chat_record(row)
            chat = Conversation(
                id=rec.id,
                session_id=rec.session_id,
                player=Player(
                    rec.name,
                    rec.username,
                    rec.email,
                    rec.topic,
                    rec.locale,
                    rec.member_id,
                    rec.verified_by,
                    rec.phone,
                ),
                created_at=rec.created_at,
                state=ChatState(rec.state),
                department=rec.department,
                priority=rec.priority,
                queued_at=rec.queued_at,
                requeued=bool(row["requeued"]),
                agent_id=rec.agent_id,
                agent_name=rec.agent_name,
                assigned_at=rec.assigned_at,
                first_response_at=rec.first_response_at,
                continues=row["continues"],
            )
            chat.restore(msgs.get(rec.id, []), notes.get(rec.id, []))
            session = SessionRecord(
                rec.session_id, row["token_hash"], row["s_created"], row["s_locale"]
            )
            out.append((chat, session))
        return out

    async def session_by_token(self, token_hash: bytes) -> SessionRecord | None:
        rows = await self._fetch(
            "SELECT id, created_at, locale FROM sessions WHERE token_hash = ?", (token_hash,)
        )
        if not rows:
            return None
        return SessionRecord(rows[0]["id"], token_hash, rows[0]["created_at"], rows[0]["locale"])

    async def latest_chat(self, session_id: str) -> ChatRecord | None:
        rows = await self._fetch(
            f"SELECT {CHAT_COLUMNS} {CHAT_FROM} WHERE c.session_id = ?"
            " ORDER BY c.created_at DESC LIMIT 1",
            (session_id,),
        )
        return chat_record(rows[0]) if rows else None

    async def messages(self, chat_id: str, after_seq: int = 0) -> list[Message]:
        rows = await self._fetch(
            MESSAGES + " WHERE m.chat_id = ? AND m.seq > ? ORDER BY m.seq", (chat_id, after_seq)
        )
        return [message_of(r) for r in rows]

    async def request(self, number: str) -> RequestRecord | None:
        rows = await self._fetch(
            f"SELECT {CHAT_COLUMNS}, r.status AS r_status, r.created_at AS r_created,"
            " r.updated_at AS r_updated, r.resolved, r.rating, r.rating_comment, r.nps,"
            " r.resolution, r.resolution_note, r.priority AS r_priority, r.owner_agent_id,"
            " r.awaiting_since, r.sla_due, r.sla_breached_at, r.reply_due, r.reply_breached_at"
            f" {CHAT_FROM} WHERE r.number = ?",
            (number,),
        )
        if not rows:
            return None
        row = rows[0]
        # every chat of the request in order: the first, then those the player opened later
        chats = [
            chat_record(c)
            for c in await self._fetch(
                f"SELECT {CHAT_COLUMNS} {CHAT_FROM} WHERE c.request_number = ?"
                " ORDER BY c.created_at, c.id",
                (number,),
            )
        ] or [chat_record(row)]
        ids = [c.id for c in chats]
        marks = ", ".join("?" for _ in ids)
        messages = [m for c in chats for m in await self.messages(c.id)]
        return RequestRecord(
            number=number,
            status=row["r_status"],
            created_at=row["r_created"],
            updated_at=row["r_updated"],
            chat=chat_record(row),
            chats=chats,
            messages=messages,
            resolved=None if row["resolved"] is None else bool(row["resolved"]),
            rating=row["rating"],
            rating_comment=row["rating_comment"],
            nps=row["nps"],
            resolution=row["resolution"],
            resolution_note=row["resolution_note"],
            priority=row["r_priority"],
            owner_agent_id=row["owner_agent_id"],
            awaiting_since=row["awaiting_since"],
            sla_due=row["sla_due"],
            sla_breached_at=row["sla_breached_at"],
            reply_due=row["reply_due"],
            reply_breached_at=row["reply_breached_at"],
            followups=[
                FollowUp(f["id"], f["at"], f["author"], f["author_name"], f["text"], f["file_id"])
                for f in await self._fetch(
                    "SELECT * FROM request_messages WHERE number = ? ORDER BY at, id", (number,)
                )
            ],
            notes=[
                note_of(n)
                for n in await self._fetch(
                    f"SELECT * FROM notes WHERE chat_id IN ({marks}) ORDER BY after_seq, ts", ids
                )
            ],
            events=[
                RequestEvent(
                    e["at"], e["actor"], e["from_status"], e["to_status"], e["note"], e["kind"]
                )
                for e in await self._fetch(
                    "SELECT * FROM request_events WHERE number = ? ORDER BY at, id", (number,)
                )
            ],
            attachments=[
                attachment_of(a)
                for a in await self._fetch(
                    f"SELECT * FROM attachments WHERE chat_id IN ({marks}) ORDER BY created_at",
                    ids,
                )
            ],
        )

    # -- canned responses ------------------------------------------------------

    async def canned_responses(self) -> list[CannedResponse]:
        rows = await self._fetch("SELECT * FROM canned_responses ORDER BY shortcut")
        return [CannedResponse(r["id"], r["shortcut"], r["title"], r["text"]) for r in rows]

    async def save_canned(
        self, canned_id: int | None, shortcut: str, title: str, text: str, now: float
    ) -> CannedResponse:
        async def work(w: Tx) -> int:
            try:
                if canned_id is None:
                    return await w.insert(
                        "INSERT INTO canned_responses (shortcut, title, text, created_at,"
                        " updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                        (shortcut, title, text, now, now),
                    )
                changed = await w.execute(
                    "UPDATE canned_responses SET shortcut = ?, title = ?, text = ?,"
                    " updated_at = ? WHERE id = ?",
                    (shortcut, title, text, now, canned_id),
                )
            except Conflict as exc:
                raise ConflictError(
                    "shortcut_taken", f"the shortcut /{shortcut} is already used", field="shortcut"
                ) from exc
            if changed == 0:
                raise NotFoundError("canned_not_found", "no such canned response")
            return canned_id

        saved_id = await self._transaction(work, "cannot save canned response")
        return CannedResponse(saved_id, shortcut, title, text)

    async def delete_canned(self, canned_id: int) -> None:
        async def work(w: Tx) -> None:
            await w.execute("DELETE FROM canned_responses WHERE id = ?", (canned_id,))

        await self._transaction(work, "cannot delete canned response")

    # -- request search and figures ----------------------------------------------

    async def search_requests(
        self,
        *,
        number: str | None = None,
        username: str | None = None,
        email: str | None = None,
        text: str | None = None,
        since: float | None = None,
        until: float | None = None,
        before: float | None = None,
        limit: int = 50,
        scope: Scope | None = None,
    ) -> list[RequestSummary]:
        where: list[str] = []
        params: list[object] = []
        if scope is not None and scope.departments is not None:
            # what the access policy lets this principal see (privacy.policy.request_scope)
            seen = sorted(scope.departments)
            either = [f"c.department IN ({', '.join('?' for _ in seen)})"] if seen else []
            params.extend(seen)
            if scope.agent_id is not None:
                either.append("c.agent_id = ?")
                params.append(scope.agent_id)
            where.append("(" + " OR ".join(either or ["1 = 0"]) + ")")
        if number is not None:
            where.append("r.number = ?")
            params.append(number)
        if username is not None:
            where.append(self._ci_eq("c.player_username"))
            params.append(username)
        if email is not None:
            where.append(self._ci_eq("c.player_email"))
            params.append(email)
        if text is not None:
            # one box for agents: a name, username or e-mail, matched loosely
            like_ = f"{self._like} ? ESCAPE '\\'"
            where.append(
                f"(c.player_username {like_} OR c.player_email {like_} OR c.player_name {like_})"
            )
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            params.extend([like, like, like])
        for clause, value in (
            ("r.created_at >= ?", since),
            ("r.created_at < ?", until),
            ("r.created_at < ?", before),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = (
            "SELECT r.number, r.status, r.created_at, r.resolution, r.rating, c.id AS chat_id,"
            " c.topic, c.player_name, c.player_username, c.player_email, a.name AS agent_name"
            " FROM requests r JOIN chats c ON c.id = r.chat_id"
            " LEFT JOIN agents a ON a.id = c.agent_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY r.created_at DESC LIMIT ?"
        )
        rows = await self._fetch(sql, (*params, limit))
        return [
            RequestSummary(
                number=r["number"],
                status=r["status"],
                created_at=r["created_at"],
                chat_id=r["chat_id"],
                topic=r["topic"],
                name=r["player_name"],
                username=r["player_username"],
                email=r["player_email"],
                agent_name=r["agent_name"],
                resolution=r["resolution"],
                rating=r["rating"],
            )
            for r in rows
        ]

    # -- attachments and request tracking --------------------------------------

    async def attachment(self, file_id: str) -> AttachmentRecord | None:
        rows = await self._fetch(
            "SELECT f.*, c.session_id, c.department, c.agent_id AS chat_agent_id"
            " FROM attachments f JOIN chats c ON c.id = f.chat_id WHERE f.id = ?",
            (file_id,),
        )
        return attachment_of(rows[0]) if rows else None

    async def lookup_request(self, number: str, contact: str) -> RequestRecord | None:
        rec = await self.request(number)
        if rec is None:
            return None
        wanted = contact.strip().casefold()
        known = {(v or "").casefold() for v in (rec.chat.email, rec.chat.username)}
        return rec if wanted and wanted in known else None

    # -- the webhook outbox ------------------------------------------------------

    async def due_deliveries(self, now: float, limit: int) -> list[Delivery]:
        rows = await self._fetch(
            "SELECT * FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?"
            " ORDER BY next_attempt_at LIMIT ?",
            (now, limit),
        )
        return [delivery_of(r) for r in rows]

    async def delivery_result(
        self, delivery_id: str, *, now: float, error: str | None, retry_at: float | None
    ) -> None:
        async def work(w: Tx) -> None:
            if error is None:
                await w.execute(
                    "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = ?,"
                    " attempts = attempts + 1, last_error = NULL WHERE id = ?",
                    (now, delivery_id),
                )
            else:
                await w.execute(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, last_error = ?,"
                    " status = ?, next_attempt_at = coalesce(?, next_attempt_at) WHERE id = ?",
                    (error[:500], "pending" if retry_at else "failed", retry_at, delivery_id),
                )

        await self._transaction(work, "cannot record a webhook delivery")

    async def deliveries(self, limit: int) -> list[Delivery]:
        rows = await self._fetch(
            "SELECT * FROM webhook_deliveries ORDER BY created_at DESC, id LIMIT ?", (limit,)
        )
        return [delivery_of(r) for r in rows]

    async def redeliver(self, delivery_id: str, now: float) -> bool:
        async def work(w: Tx) -> bool:
            changed = await w.execute(
                "UPDATE webhook_deliveries SET status = 'pending', attempts = 0,"
                " next_attempt_at = ?, last_error = NULL, delivered_at = NULL WHERE id = ?",
                (now, delivery_id),
            )
            return changed == 1

        return await self._transaction(work, "cannot queue the delivery again")

    async def next_delivery_at(self) -> float | None:
        rows = await self._fetch(
            "SELECT min(next_attempt_at) AS at FROM webhook_deliveries WHERE status = 'pending'"
        )
        at = rows[0]["at"]
        return float(at) if at is not None else None

    async def upsert_members(self, members: Sequence[Member]) -> int:
        async def work(w: Tx) -> int:
            try:
                await w.executemany(
                    "INSERT INTO members (member_id, username, email, name, birthdate)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (member_id) DO UPDATE SET"
                    " username = excluded.username, email = excluded.email,"
                    " name = excluded.name, birthdate = excluded.birthdate",
                    [
                        (
                            m.member_id,
                            m.username,
                            m.email,
                            m.name,
                            m.birthdate.isoformat() if m.birthdate else None,
                        )
                        for m in members
                    ],
                )
            except Conflict as exc:
                raise ConflictError(
                    "username_taken", f"two members share a username: {exc}"
                ) from exc
            return len(members)

        return await self._transaction(work, "cannot import members")

    async def member_by_username(self, username: str) -> Member | None:
        rows = await self._fetch("SELECT * FROM members WHERE username = ?", (username,))
        if not rows:
            return None
        r = rows[0]
        birth = r["birthdate"]
        return Member(
            r["member_id"],
            r["username"],
            r["email"],
            r["name"],
            date.fromisoformat(birth) if birth else None,
        )

    async def floor_stats(self, since: float) -> FloorStats:
        rows = await self._fetch(
            "SELECT count(*) AS ended,"
            " avg(c.first_response_at - c.assigned_at) AS first_response,"
            " avg(CASE WHEN c.assigned_at IS NOT NULL THEN c.ended_at - c.assigned_at END)"
            " AS handle, CAST(avg(r.rating) AS DOUBLE PRECISION) AS rating,"
            " count(r.rating) AS ratings"
            " FROM chats c LEFT JOIN requests r ON r.chat_id = c.id"
            " WHERE c.state = 'ended' AND c.ended_at >= ?",
            (since,),
        )
        r = rows[0]
        return FloorStats(r["ended"], r["first_response"], r["handle"], r["rating"], r["ratings"])
