"""Personal data's queries, shared by both SQL stores (``SqlStore`` inherits them): the audit
trail (appended under the chain's head row, so two writers never fork it), finding a data
subject's chats, erasing them, and the retention purge's batches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ..core.requests import format_request_number
from ..privacy.audit import AuditEntry, entry_hash
from .tx import Row, Tx

__all__ = ["AuditHead", "Erased", "PrivacyQueries", "PrivacyStore", "Subject"]

T = TypeVar("T")

CLOSED = ("resolved", "closed")  # a request in these statuses counts as closed since updated_at


@dataclass(frozen=True, slots=True)
class Subject:
    """Who a data-subject request is about: any of their member id, username, e-mail."""

    member_id: str | None = None
    username: str | None = None
    email: str | None = None

    def __bool__(self) -> bool:
        return bool(self.member_id or self.username or self.email)


@dataclass(frozen=True, slots=True)
class AuditHead:
    seq: int
    hash: str
    first_seq: int
    first_prev: str


@dataclass(slots=True)
class Erased:
    """What an erasure (or a purge batch) removed, and the files to delete once committed."""

    chats: int = 0
    messages: int = 0
    notes: int = 0
    attachments: int = 0
    refusals: int = 0
    members: int = 0
    deliveries: int = 0
    notifications: int = 0
    audit: int = 0
    file_keys: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            k: getattr(self, k)
            for k in ("chats", "messages", "notes", "attachments", "refusals", "members",
                      "deliveries", "notifications", "audit")
            if getattr(self, k)
        }  # fmt: skip


class PrivacyStore(Protocol):
    """Personal data's part of the ``Store`` interface."""

    async def audit_append(self, entries: Sequence[AuditEntry]) -> list[AuditEntry]:
        """Append entries to the chain in one transaction; returns them with seq and hash."""
        ...

    async def audit_head(self) -> AuditHead: ...

    async def audit_walk(self, after_seq: int, limit: int) -> list[AuditEntry]:
        """Entries in chain order after ``after_seq`` (for verifying)."""
        ...

    async def audit_search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: float | None = None,
        until: float | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first; ``before_seq`` pages."""
        ...

    async def subject_chats(self, subject: Subject) -> list[tuple[str, str | None, str]]:
        """(chat id, request number, state) of every chat the subject had, oldest first."""
        ...

    async def subject_refusals(self, subject: Subject) -> list[dict[str, Any]]: ...

    async def subject_member(self, subject: Subject) -> dict[str, Any] | None: ...

    async def erase_subject(self, subject: Subject, chat_ids: Sequence[str], now: float) -> Erased:
        """Remove personal fields and every message, note and file name of these chats,
        the subject's refusals, member row and webhook deliveries, in one transaction.
        Request numbers, statuses, times and ratings stay (anonymous statistics)."""
        ...

    async def add_privacy_link(
        self, token_hash: bytes, subject: Subject, *, now: float, expires_at: float, by: str
    ) -> None:
        """A link that gives the subject their archive until ``expires_at``."""
        ...

    async def privacy_link(self, token_hash: bytes, now: float) -> Subject | None: ...

    async def scrub(self) -> None:
        """Make removed data unreadable in the database's files too (SQLite: checkpoint and
        truncate the WAL; PostgreSQL: vacuum the tables erasures touch)."""
        ...

    async def purge_batch(
        self, kind: str, before: float, limit: int, *, dry_run: bool = False
    ) -> Erased:
        """Up to ``limit`` items of ``kind`` kept past ``before``; with ``dry_run``, only
        count them."""
        ...


def _entry(r: Row) -> AuditEntry:
    return AuditEntry(
        at=r["at"],
        actor=r["actor"],
        action=r["action"],
        target=r["target"],
        detail=r["detail"],
        ip=r["ip"],
        seq=r["seq"],
        prev_hash=r["prev_hash"],
        hash=r["hash"],
    )


def _subject_where(subject: Subject, alias: str = "c") -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if subject.member_id:
        clauses.append(f"{alias}.member_id = ?")
        params.append(subject.member_id)
    if subject.username:
        clauses.append(f"lower({alias}.{'player_' if alias == 'c' else ''}username) = lower(?)")
        params.append(subject.username)
    if subject.email:
        clauses.append(f"lower({alias}.{'player_' if alias == 'c' else ''}email) = lower(?)")
        params.append(subject.email)
    return "(" + " OR ".join(clauses or ["1 = 0"]) + ")", params


def _marks(n: int) -> str:
    return ", ".join("?" for _ in range(n))


class PrivacyQueries:
    """The driver supplies ``_fetch`` and ``_transaction``."""

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def _transaction(self, work: Callable[[Tx], Awaitable[T]], what: str) -> T:
        raise NotImplementedError

    # -- the audit trail ------------------------------------------------------------

    async def audit_append(self, entries: Sequence[AuditEntry]) -> list[AuditEntry]:
        if not entries:
            return []

        async def work(w: Tx) -> list[AuditEntry]:
            # taking the head row first serialises appenders (PostgreSQL locks the row;
            # SQLite has one writer): the chain never forks
            head = await w.fetch(
                "UPDATE audit_head SET seq = seq + ? WHERE id = 1 RETURNING seq, hash",
                (len(entries),),
            )
            seq = int(head[0]["seq"]) - len(entries)
            prev = str(head[0]["hash"])
            out = []
            for e in entries:
                seq += 1
                e = AuditEntry(round(e.at, 6), e.actor, e.action, e.target, e.detail, e.ip)
                h = entry_hash(prev, seq, e)
                out.append(
                    AuditEntry(e.at, e.actor, e.action, e.target, e.detail, e.ip, seq, prev, h)
                )
                prev = h
            await w.executemany(
                "INSERT INTO audit_log (seq, at, actor, action, target, detail, ip, prev_hash,"
                " hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (e.seq, e.at, e.actor, e.action, e.target, e.detail, e.ip, e.prev_hash, e.hash)
                    for e in out
                ],
            )
            await w.execute("UPDATE audit_head SET hash = ? WHERE id = 1", (prev,))
            return out

        return await self._transaction(work, "cannot write the audit trail")

    async def audit_head(self) -> AuditHead:
        r = (await self._fetch("SELECT * FROM audit_head WHERE id = 1"))[0]
        return AuditHead(r["seq"], r["hash"], r["first_seq"], r["first_prev"])

    async def audit_walk(self, after_seq: int, limit: int) -> list[AuditEntry]:
        rows = await self._fetch(
            "SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
        )
        return [_entry(r) for r in rows]

    async def audit_search(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: float | None = None,
        until: float | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        where, params = [], []
        for clause, value in (
            ("actor = ?", actor),
            ("action = ?", action),
            ("target = ?", target),
            ("at >= ?", since),
            ("at < ?", until),
            ("seq < ?", before_seq),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = "SELECT * FROM audit_log" + (" WHERE " + " AND ".join(where) if where else "")
        rows = await self._fetch(sql + " ORDER BY seq DESC LIMIT ?", (*params, limit))
        return [_entry(r) for r in rows]

    # -- data subjects ----------------------------------------------------------------

    async def subject_chats(self, subject: Subject) -> list[tuple[str, str | None, str]]:
        where, params = _subject_where(subject)
        rows = await self._fetch(
            "SELECT c.id, r.number, c.state FROM chats c"
            " LEFT JOIN requests r ON r.number = c.request_number"
            f" WHERE {where} ORDER BY c.created_at, c.id",
            params,
        )
        return [(r["id"], r["number"], r["state"]) for r in rows]

    async def subject_refusals(self, subject: Subject) -> list[dict[str, Any]]:
        where, params = _subject_where(subject, "f")
        rows = await self._fetch(f"SELECT * FROM refusals f WHERE {where} ORDER BY at", params)
        return [dict(zip(r.keys(), tuple(r), strict=True)) for r in rows]

    async def subject_member(self, subject: Subject) -> dict[str, Any] | None:
        where, params = _subject_where(subject, "m")
        rows = await self._fetch(f"SELECT * FROM members m WHERE {where}", params)
        return dict(zip(rows[0].keys(), tuple(rows[0]), strict=True)) if rows else None

    async def erase_subject(self, subject: Subject, chat_ids: Sequence[str], now: float) -> Erased:
        ids = list(chat_ids)

        async def work(w: Tx) -> Erased:
            out = Erased()
            if ids:
                out = await _erase_chats(w, ids, now, identity=True)
            where, params = _subject_where(subject, "f")
            out.refusals = await w.execute(
                "UPDATE refusals SET member_id = NULL, username = NULL, email = NULL,"
                f" session_id = NULL WHERE id IN (SELECT f.id FROM refusals f WHERE {where})",
                params,
            )
            where, params = _subject_where(subject, "p")
            await w.execute(
                "DELETE FROM privacy_exports WHERE token_hash IN (SELECT p.token_hash"
                f" FROM privacy_exports p WHERE {where})",
                params,
            )
            where, params = _subject_where(subject, "m")
            out.members = await w.execute(
                f"DELETE FROM members WHERE member_id IN (SELECT m.member_id FROM members m"
                f" WHERE {where})",
                params,
            )
            return out

        return await self._transaction(work, "cannot erase")

    async def add_privacy_link(
        self, token_hash: bytes, subject: Subject, *, now: float, expires_at: float, by: str
    ) -> None:
        async def work(w: Tx) -> None:
            await w.execute("DELETE FROM privacy_exports WHERE expires_at < ?", (now,))
            await w.execute(
                "INSERT INTO privacy_exports (token_hash, member_id, username, email,"
                " created_at, expires_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (token_hash, subject.member_id, subject.username, subject.email, now,
                 expires_at, by),
            )  # fmt: skip

        await self._transaction(work, "cannot make the link")

    async def privacy_link(self, token_hash: bytes, now: float) -> Subject | None:
        rows = await self._fetch(
            "SELECT member_id, username, email FROM privacy_exports"
            " WHERE token_hash = ? AND expires_at > ?",
            (token_hash, now),
        )
        if not rows:
            return None
        return Subject(rows[0]["member_id"], rows[0]["username"], rows[0]["email"])

    async def purge_batch(
        self, kind: str, before: float, limit: int, *, dry_run: bool = False
    ) -> Erased:
        if kind in ("messages", "notes", "attachments"):
            return await self._purge_chats(kind, before, limit, dry_run)
        if kind == "refusals":
            return await self._purge_rows(
                "refusals", "id", "at < ? AND at < coalesce((SELECT at FROM report_marks"
                " WHERE name = 'refusals'), 0)", before, limit, dry_run,
            )  # fmt: skip
        if kind == "deliveries":
            return await self._purge_rows(
                "webhook_deliveries", "id", "created_at < ? AND status != 'pending'",
                before, limit, dry_run,
            )  # fmt: skip
        if kind == "notifications":
            return await self._purge_rows(
                "notifications", "id", "created_at < ? AND status != 'pending'",
                before, limit, dry_run,
            )  # fmt: skip
        if kind == "audit":
            return await self._purge_audit(before, limit, dry_run)
        if kind == "links":  # the players' export links, and their requests' links
            done = await self._purge_rows(
                "privacy_exports", "token_hash", "expires_at < ?", before, limit, dry_run
            )
            more = await self._purge_rows(
                "request_links", "token_hash", "expires_at < ?", before, limit, dry_run
            )
            done.deliveries += more.deliveries
            return done
        raise ValueError(f"unknown kind {kind!r}")

    async def _purge_chats(self, kind: str, before: float, limit: int, dry_run: bool) -> Erased:
        closed = (
            "FROM requests r JOIN chats c ON c.request_number = r.number"
            f" WHERE r.status IN ({_marks(len(CLOSED))}) AND r.updated_at < ?"
        )
        if dry_run:  # how many items would go
            table, kept = {
                "messages": ("messages", "text != ''"),
                "notes": ("notes", "text != ''"),
                "attachments": ("attachments", "storage_key != ''"),
            }[kind]
            rows = await self._fetch(
                f"SELECT count(*) AS n FROM {table} x WHERE x.{kept} AND x.chat_id IN"
                f" (SELECT c.id {closed})",
                (*CLOSED, before),
            )
            return Erased(**{kind: int(rows[0]["n"])})  # type: ignore[arg-type]
        # a watermark (in report_marks) says how far earlier purges got, in (updated_at, chat)
        # order: each run reads only requests closed since, not the whole history again
        name = f"retention:{kind}"
        marks = await self._fetch("SELECT at, key FROM report_marks WHERE name = ?", (name,))
        at, key = (marks[0]["at"], marks[0]["key"]) if marks else (0.0, "")
        rows = await self._fetch(
            f"SELECT c.id, r.updated_at {closed} AND (r.updated_at > ? OR"
            " (r.updated_at = ? AND c.id > ?)) ORDER BY r.updated_at, c.id LIMIT ?",
            (*CLOSED, before, at, at, key, limit),
        )
        ids = [r["id"] for r in rows]
        if not ids:
            return Erased()
        last = (rows[-1]["updated_at"], rows[-1]["id"])

        async def work(w: Tx) -> Erased:
            out = await _erase_chats(w, ids, None, identity=False, only=kind)
            await w.execute(
                "INSERT INTO report_marks (name, at, key) VALUES (?, ?, ?) ON CONFLICT (name)"
                " DO UPDATE SET at = excluded.at, key = excluded.key",
                (name, *last),
            )
            return out

        return await self._transaction(work, f"cannot purge {kind}")

    async def _purge_rows(
        self, table: str, key: str, where: str, before: float, limit: int, dry_run: bool
    ) -> Erased:
        if dry_run:
            rows = await self._fetch(f"SELECT count(*) AS n FROM {table} WHERE {where}", (before,))
            n = int(rows[0]["n"])
            return _counted(table, n)
        sql = f"SELECT {key} FROM {table} WHERE {where} LIMIT ?"
        rows = await self._fetch(sql, (before, limit))
        keys = [r[key] for r in rows]
        n = len(keys)
        if keys:

            async def work(w: Tx) -> int:
                return await w.execute(
                    f"DELETE FROM {table} WHERE {key} IN ({_marks(len(keys))})", keys
                )

            n = await self._transaction(work, f"cannot purge {table}")
        return _counted(table, n)

    async def _purge_audit(self, before: float, limit: int, dry_run: bool) -> Erased:
        if dry_run:
            rows = await self._fetch("SELECT count(*) AS n FROM audit_log WHERE at < ?", (before,))
            return Erased(audit=int(rows[0]["n"]))
        rows = await self._fetch(
            "SELECT seq, hash FROM audit_log WHERE seq IN (SELECT seq FROM audit_log"
            " ORDER BY seq LIMIT ?) AND at < ? ORDER BY seq",
            (limit, before),
        )
        # only a run from the start goes, so what stays is still one unbroken chain
        first = await self.audit_head()
        upto, last_hash, expect = 0, "", first.first_seq
        for r in rows:
            if r["seq"] != expect:
                break
            upto, last_hash, expect = r["seq"], r["hash"], r["seq"] + 1
        if not upto:
            return Erased()

        async def work(w: Tx) -> int:
            n = await w.execute("DELETE FROM audit_log WHERE seq <= ?", (upto,))
            await w.execute(
                "UPDATE audit_head SET first_seq = ?, first_prev = ? WHERE id = 1",
                (upto + 1, last_hash),
            )
            return n

        return Erased(audit=await self._transaction(work, "cannot purge the audit trail"))


def _counted(table: str, n: int) -> Erased:
    kind = {"refusals": "refusals", "notifications": "notifications"}.get(table, "deliveries")
    out = Erased()
    setattr(out, kind, n)
    return out


async def _erase_chats(
    w: Tx, ids: list[str], now: float | None, *, identity: bool, only: str | None = None
) -> Erased:
    """Blank what these chats hold about people; ``only`` one kind (a retention purge)."""
    out = Erased(chats=len(ids))
    marks = _marks(len(ids))
    if only in (None, "attachments"):
        files = await w.fetch(
            f"SELECT storage_key, thumb_key FROM attachments WHERE chat_id IN ({marks})"
            " AND storage_key != ''",
            ids,
        )
        out.file_keys = [k for f in files for k in (f["storage_key"], f["thumb_key"]) if k]
        out.attachments = await w.execute(
            "UPDATE attachments SET name = 'erased', sha256 = '', storage_key = '',"
            f" thumb_key = NULL WHERE chat_id IN ({marks}) AND storage_key != ''",
            ids,
        )
    if only in (None, "messages"):
        out.messages += await w.execute(
            "UPDATE request_messages SET text = '', author_name = NULL WHERE number IN"
            f" (SELECT request_number FROM chats WHERE id IN ({marks})) AND text != ''",
            ids,
        )
        out.messages += await w.execute(
            "UPDATE messages SET text = '', author_name = CASE WHEN sender = 'player'"
            f" THEN NULL ELSE author_name END WHERE chat_id IN ({marks}) AND text != ''",
            ids,
        )
    if only in (None, "notes"):
        out.notes = await w.execute(
            f"UPDATE notes SET text = '' WHERE chat_id IN ({marks}) AND text != ''", ids
        )
    if identity:
        await w.execute(
            "UPDATE chats SET player_name = NULL, player_username = NULL, player_email = NULL,"
            f" player_phone = NULL, member_id = NULL, erased_at = ? WHERE id IN ({marks})",
            (now, *ids),
        )
        numbers = [
            r["number"]
            for r in await w.fetch(
                "SELECT DISTINCT request_number AS number FROM chats"
                f" WHERE id IN ({marks}) AND request_number IS NOT NULL",
                ids,
            )
        ]
        if numbers:
            await w.execute(
                "UPDATE requests SET rating_comment = NULL, resolution_note = NULL"
                f" WHERE number IN ({_marks(len(numbers))})",
                numbers,
            )
        if numbers:
            await w.execute(
                f"UPDATE request_events SET note = NULL WHERE number IN ({_marks(len(numbers))})",
                numbers,
            )
        if numbers:  # a review's comment may name the player
            await w.execute(
                f"UPDATE qa_reviews SET comment = NULL WHERE number IN ({_marks(len(numbers))})",
                numbers,
            )
        if numbers:  # notifications name the player and their address
            await w.execute(
                f"DELETE FROM notifications WHERE number IN ({_marks(len(numbers))})", numbers
            )
        # deliveries name the player: those about these chats go, sent or not
        for key in [*ids, *(format_request_number(n) for n in numbers)]:
            out.deliveries += await w.execute(
                "DELETE FROM webhook_deliveries WHERE body LIKE ?", (f"%{key}%",)
            )
    return out
