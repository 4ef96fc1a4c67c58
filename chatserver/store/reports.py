"""The reports' queries, shared by both SQL stores (``SqlStore`` inherits them).

``roll_up`` adds what ended (chats), what was rated and who was refused since the last call
to the hourly rollups, a batch at a time, each in one transaction with its watermark: every
chat, rating and refusal is counted exactly once, whenever and however often it runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from ..reports.figures import HOUR_COLUMNS, ChatFacts, chat_delta, hour_of, rating_delta
from .tx import Row, Tx

__all__ = ["ReportQueries", "ReportStore"]

T = TypeVar("T")
_KEY = ("hour", "department", "topic", "agent_id", "locale")
_UPSERT = (
    f"INSERT INTO report_hours ({', '.join(_KEY + HOUR_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in _KEY + HOUR_COLUMNS)})"
    f" ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET "
    + ", ".join(f"{c} = report_hours.{c} + excluded.{c}" for c in HOUR_COLUMNS)
)
_REFUSAL_UPSERT = (
    "INSERT INTO report_refusals (hour, topic, reason, refused) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (hour, topic, reason) DO UPDATE SET"
    " refused = report_refusals.refused + excluded.refused"
)
_SUMS = ", ".join(f"sum({c}) AS {c}" for c in HOUR_COLUMNS)
Key = tuple[int, str, str, int, str]


class ReportStore(Protocol):
    """The reports' part of the ``Store`` interface."""

    async def roll_up(self, until: float, topics: Mapping[str, str], limit: int = 500) -> int:
        """Add to the rollups one batch of each kind (chats ended, ratings given, refusals)
        that happened before ``until``; how many were added (0: nothing left).
        ``topics`` maps topic ids to departments (for refusals)."""
        ...

    async def report_rows(
        self, since: float, until: float, filters: Mapping[str, Any]
    ) -> tuple[list[Row], list[Row], list[Row]]:
        """Summed rollups between two times: per hour, per agent, and refusals per reason.
        ``filters``: ``department``, ``topic``, ``agent_id``, ``locale`` (any subset)."""
        ...


def _add(deltas: dict[Key, dict[str, float]], key: Key, delta: Mapping[str, float]) -> None:
    into = deltas.setdefault(key, {})
    for column, value in delta.items():
        into[column] = into.get(column, 0) + value


class ReportQueries:
    """Rollups and their reads; the driver supplies ``_fetch`` and ``_transaction``."""

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def _transaction(self, work: Callable[[Tx], Awaitable[T]], what: str) -> T:
        raise NotImplementedError

    async def roll_up(self, until: float, topics: Mapping[str, str], limit: int = 500) -> int:
        async def work(w: Tx) -> int:
            marks = {
                r["name"]: (r["at"], r["key"])
                for r in await w.fetch("SELECT name, at, key FROM report_marks")
            }
            deltas: dict[Key, dict[str, float]] = {}
            done = await _chats(w, deltas, marks.get("chats", (0.0, "")), until, limit)
            done += await _ratings(w, deltas, marks.get("ratings", (0.0, "")), until, limit)
            done += await _refusals(w, marks.get("refusals", (0.0, "0")), topics, limit)
            if deltas:
                await w.executemany(
                    _UPSERT,
                    [(*key, *(d.get(c, 0) for c in HOUR_COLUMNS)) for key, d in deltas.items()],
                )
            return done

        return await self._transaction(work, "cannot roll up reports")

    async def report_rows(
        self, since: float, until: float, filters: Mapping[str, Any]
    ) -> tuple[list[Row], list[Row], list[Row]]:
        where = "hour >= ? AND hour < ?"
        params: list[Any] = [hour_of(since), until]
        for column in ("department", "topic", "agent_id", "locale"):
            if filters.get(column) is not None:
                where += f" AND {column} = ?"
                params.append(filters[column])
        hours = await self._fetch(
            f"SELECT hour, {_SUMS} FROM report_hours WHERE {where} GROUP BY hour ORDER BY hour",
            params,
        )
        agents = await self._fetch(
            f"SELECT agent_id, {_SUMS} FROM report_hours WHERE {where} GROUP BY agent_id",
            params,
        )
        r_where = "hour >= ? AND hour < ?"
        r_params: list[Any] = [hour_of(since), until]
        if filters.get("topic") is not None:
            r_where += " AND topic = ?"
            r_params.append(filters["topic"])
        elif filters.get("department") is not None:
            topics = filters.get("department_topics") or [""]
            r_where += f" AND topic IN ({', '.join('?' for _ in topics)})"
            r_params += list(topics)
        refusals = await self._fetch(
            f"SELECT reason, sum(refused) AS refused FROM report_refusals WHERE {r_where}"
            " GROUP BY reason",
            r_params,
        )
        return hours, agents, refusals


async def _mark(w: Tx, name: str, at: float, key: str) -> None:
    await w.execute(
        "INSERT INTO report_marks (name, at, key) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET at = excluded.at, key = excluded.key",
        (name, at, key),
    )


async def _chats(
    w: Tx, deltas: dict[Key, dict[str, float]], mark: tuple[float, str], until: float, limit: int
) -> int:
    at, key = mark
    rows = await w.fetch(
        "SELECT c.id, c.ended_at, c.department, c.topic, c.agent_id, c.locale, c.created_at,"
        " c.assigned_at, c.first_response_at, r.resolution,"
        " CASE WHEN c.assigned_at IS NULL THEN (SELECT count(*) FROM messages m"
        "  WHERE m.chat_id = c.id AND m.event = 'offline_message') ELSE 0 END AS offline"
        " FROM chats c LEFT JOIN requests r ON r.chat_id = c.id"
        " WHERE c.state = 'ended' AND c.ended_at < ?"
        " AND (c.ended_at > ? OR (c.ended_at = ? AND c.id > ?))"
        " ORDER BY c.ended_at, c.id LIMIT ?",
        (until, at, at, key, limit),
    )
    for r in rows:
        facts = ChatFacts(
            r["created_at"],
            r["assigned_at"],
            r["first_response_at"],
            r["ended_at"],
            bool(r["offline"]),
            r["resolution"],
        )
        dims = (hour_of(r["ended_at"]), r["department"], r["topic"])
        _add(deltas, (*dims, r["agent_id"] or 0, r["locale"] or ""), chat_delta(facts))
    if rows:
        await _mark(w, "chats", rows[-1]["ended_at"], rows[-1]["id"])
    return len(rows)


async def _ratings(
    w: Tx, deltas: dict[Key, dict[str, float]], mark: tuple[float, str], until: float, limit: int
) -> int:
    at, key = mark
    rows = await w.fetch(
        "SELECT r.number, r.rated_at, r.rating, r.resolved, r.nps, r.rolled_rating,"
        " r.rolled_resolved, r.rolled_nps,"
        " c.ended_at, c.department, c.topic, c.agent_id, c.locale"
        " FROM requests r JOIN chats c ON c.id = r.chat_id"
        " WHERE r.rated_at IS NOT NULL AND r.rated_at < ?"
        " AND (r.rated_at > ? OR (r.rated_at = ? AND r.number > ?))"
        " ORDER BY r.rated_at, r.number LIMIT ?",
        (until, at, at, key, limit),
    )
    for r in rows:
        old = (r["rolled_rating"], r["rolled_resolved"] == 1, r["rolled_nps"])
        new = (r["rating"], r["resolved"] in (1, True), r["nps"])
        dims = (hour_of(r["ended_at"] or r["rated_at"]), r["department"], r["topic"])
        _add(deltas, (*dims, r["agent_id"] or 0, r["locale"] or ""), rating_delta(old, new))
    if rows:
        await w.executemany(
            "UPDATE requests SET rolled_rating = ?, rolled_resolved = ?, rolled_nps = ?"
            " WHERE number = ?",
            [(r["rating"], r["resolved"], r["nps"], r["number"]) for r in rows],
        )
        await _mark(w, "ratings", rows[-1]["rated_at"], rows[-1]["number"])
    return len(rows)


async def _refusals(w: Tx, mark: tuple[float, str], topics: Mapping[str, str], limit: int) -> int:
    """Refusals by id (ids grow as they are stored)."""
    rows = await w.fetch(
        "SELECT id, at, reason, topic FROM refusals WHERE id > ? ORDER BY id LIMIT ?",
        (int(mark[1] or 0), limit),
    )
    counts: dict[tuple[int, str, str], int] = {}
    for r in rows:
        k = (hour_of(r["at"]), r["topic"] or "", r["reason"])
        counts[k] = counts.get(k, 0) + 1
    if counts:
        await w.executemany(_REFUSAL_UPSERT, [(*k, n) for k, n in counts.items()])
        await _mark(w, "refusals", rows[-1]["at"], str(rows[-1]["id"]))
    return len(rows)
