"""The reports' queries, shared by both SQL stores (``SqlStore`` inherits them).

``roll_up`` adds what ended (chats), what was answered (ratings, NPS) and who was refused since
the last call to the rollups, a batch at a time, each in one transaction with its watermark:
every chat, answer and refusal is counted exactly once, whenever and however often it runs.
``report_hours`` has a row per hour, department, topic and language (with the hour's local
day and hour of the day), ``report_agents`` a row per local day and agent: a report sums a few
thousand rows whatever the history's size.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo

from ..reports.figures import HOUR_COLUMNS, ChatFacts, chat_delta, hour_of, rating_delta
from .tx import Row, Tx

__all__ = ["ReportQueries", "ReportRows", "ReportStore"]

T = TypeVar("T")
_SUMS = ", ".join(f"sum({c}) AS {c}" for c in HOUR_COLUMNS)
_ADD = ", ".join(f"{c} = {{table}}.{c} + excluded.{c}" for c in HOUR_COLUMNS)
_HOURS_UPSERT = (
    f"INSERT INTO report_hours (hour, day, hod, department, topic, locale,"
    f" {', '.join(HOUR_COLUMNS)}) VALUES ({', '.join('?' for _ in range(6 + len(HOUR_COLUMNS)))})"
    " ON CONFLICT (hour, department, topic, locale) DO UPDATE SET "
    + _ADD.format(table="report_hours")
)
_AGENTS_UPSERT = (
    f"INSERT INTO report_agents (day, agent_id, {', '.join(HOUR_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in range(2 + len(HOUR_COLUMNS)))})"
    " ON CONFLICT (day, agent_id) DO UPDATE SET " + _ADD.format(table="report_agents")
)
_REFUSAL_UPSERT = (
    "INSERT INTO report_refusals (day, topic, reason, refused) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (day, topic, reason) DO UPDATE SET"
    " refused = report_refusals.refused + excluded.refused"
)
HourKey = tuple[int, str, int, str, str, str]  # hour, day, hod, department, topic, locale
AgentKey = tuple[str, int]  # day, agent


class ReportRows(NamedTuple):
    """Summed rollups for a report: a row per local day (the totals are their sum), chats
    per local hour of the day, a row per agent, refusals per reason."""

    days: list[Row]
    hours_of_day: list[Row]
    agents: list[Row]
    refusals: list[Row]


class ReportStore(Protocol):
    """The reports' part of the ``Store`` interface."""

    async def roll_up(
        self, until: float, topics: Mapping[str, str], timezone: str, limit: int = 500
    ) -> int:
        """Add to the rollups one batch of each kind (chats ended, answers given, refusals)
        that happened before ``until``; how many were added (0: nothing left).
        ``timezone`` decides the local day and hour of the day."""
        ...

    async def report_rows(self, first: str, last: str, filters: Mapping[str, Any]) -> ReportRows:
        """Summed rollups of the local days ``first``..``last`` (YYYY-MM-DD). ``filters``:
        ``department``, ``topic``, ``locale`` (any of them), or ``agent_id`` alone (then
        there is no breakdown by hour of the day); ``department_topics`` picks refusals."""
        ...


class _Deltas:
    """What a batch adds, summed per row of each table."""

    def __init__(self) -> None:
        self.hours: dict[HourKey, dict[str, float]] = {}
        self.agents: dict[AgentKey, dict[str, float]] = {}

    def add(self, hour: HourKey, agent_id: int | None, delta: Mapping[str, float]) -> None:
        _sum_into(self.hours.setdefault(hour, {}), delta)
        if agent_id is not None:
            _sum_into(self.agents.setdefault((hour[1], agent_id), {}), delta)


def _sum_into(into: dict[str, float], delta: Mapping[str, float]) -> None:
    for column, value in delta.items():
        into[column] = into.get(column, 0) + value


def _slot(t: float, zone: ZoneInfo) -> tuple[int, str, int]:
    """(hour start, local day, local hour of the day) of a time."""
    hour = hour_of(t)
    local = datetime.fromtimestamp(hour, zone)
    return hour, local.date().isoformat(), local.hour


class ReportQueries:
    """Rollups and their reads; the driver supplies ``_fetch`` and ``_transaction``."""

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def _transaction(self, work: Callable[[Tx], Awaitable[T]], what: str) -> T:
        raise NotImplementedError

    async def roll_up(
        self, until: float, topics: Mapping[str, str], timezone: str, limit: int = 500
    ) -> int:
        zone = ZoneInfo(timezone)

        async def work(w: Tx) -> int:
            marks = {
                r["name"]: (r["at"], r["key"])
                for r in await w.fetch("SELECT name, at, key FROM report_marks")
            }
            deltas = _Deltas()
            done = await _chats(w, deltas, marks.get("chats", (0.0, "")), until, limit, zone)
            done += await _answers(w, deltas, marks.get("ratings", (0.0, "")), until, limit, zone)
            done += await _refusals(w, marks.get("refusals", (0.0, "0")), limit, zone)
            done += await _resolutions(w, deltas, marks.get("resolutions", (0.0, "0")), limit, zone)
            for sql, rows in ((_HOURS_UPSERT, deltas.hours), (_AGENTS_UPSERT, deltas.agents)):
                if rows:
                    await w.executemany(
                        sql, [(*k, *(d.get(c, 0) for c in HOUR_COLUMNS)) for k, d in rows.items()]
                    )
            return done

        return await self._transaction(work, "cannot roll up reports")

    async def report_rows(self, first: str, last: str, filters: Mapping[str, Any]) -> ReportRows:
        where, params = "day >= ? AND day <= ?", [first, last]
        agent = filters.get("agent_id")
        if agent is not None:
            where += " AND agent_id = ?"
            params.append(agent)
            table = "report_agents"
        else:
            table = "report_hours"
            for column in ("department", "topic", "locale"):
                if filters.get(column) is not None:
                    where += f" AND {column} = ?"
                    params.append(filters[column])
        days = await self._fetch(
            f"SELECT day, {_SUMS} FROM {table} WHERE {where} GROUP BY day ORDER BY day", params
        )
        hours: list[Row] = []
        if table == "report_hours":
            hours = await self._fetch(
                f"SELECT hod, sum(chats) AS chats FROM report_hours WHERE {where} GROUP BY hod",
                params,
            )
        a_where, a_params = "day >= ? AND day <= ?", [first, last]
        if agent is not None:
            a_where += " AND agent_id = ?"
            a_params.append(agent)
        agents = await self._fetch(
            f"SELECT agent_id, {_SUMS} FROM report_agents WHERE {a_where} GROUP BY agent_id",
            a_params,
        )
        r_where, r_params = "day >= ? AND day <= ?", [first, last]
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
        return ReportRows(days, hours, agents, refusals)


async def _mark(w: Tx, name: str, at: float, key: str) -> None:
    await w.execute(
        "INSERT INTO report_marks (name, at, key) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET at = excluded.at, key = excluded.key",
        (name, at, key),
    )


async def _chats(
    w: Tx, deltas: _Deltas, mark: tuple[float, str], until: float, limit: int, zone: ZoneInfo
) -> int:
    at, key = mark
    rows = await w.fetch(
        "SELECT c.id, c.ended_at, c.department, c.topic, c.agent_id, c.locale, c.created_at,"
        " c.assigned_at, c.first_response_at, r.resolution,"
        " CASE WHEN c.assigned_at IS NULL THEN (SELECT count(*) FROM messages m"
        "  WHERE m.chat_id = c.id AND m.event = 'offline_message') ELSE 0 END AS offline"
        " FROM chats c LEFT JOIN requests r ON r.chat_id = c.id"
        # (the first bound alone lets both databases walk the (ended_at, id) index)
        " WHERE c.ended_at >= ? AND c.ended_at < ? AND c.state = 'ended'"
        " AND (c.ended_at > ? OR c.id > ?)"
        " ORDER BY c.ended_at, c.id LIMIT ?",
        (at, until, at, key, limit),
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
        slot = (*_slot(r["ended_at"], zone), r["department"], r["topic"], r["locale"] or "")
        deltas.add(slot, r["agent_id"], chat_delta(facts))
    if rows:
        await _mark(w, "chats", rows[-1]["ended_at"], rows[-1]["id"])
    return len(rows)


async def _answers(
    w: Tx, deltas: _Deltas, mark: tuple[float, str], until: float, limit: int, zone: ZoneInfo
) -> int:
    """Ratings and NPS answers, counted in the hour their chat ended."""
    at, key = mark
    rows = await w.fetch(
        "SELECT r.number, r.rated_at, r.rating, r.resolved, r.nps, r.rolled_rating,"
        " r.rolled_resolved, r.rolled_nps,"
        " c.ended_at, c.department, c.topic, c.agent_id, c.locale"
        " FROM requests r JOIN chats c ON c.id = r.chat_id"
        " WHERE r.rated_at >= ? AND r.rated_at < ? AND (r.rated_at > ? OR r.number > ?)"
        " ORDER BY r.rated_at, r.number LIMIT ?",
        (at, until, at, key, limit),
    )
    for r in rows:
        old = (r["rolled_rating"], r["rolled_resolved"] == 1, r["rolled_nps"])
        new = (r["rating"], r["resolved"] in (1, True), r["nps"])
        ended = r["ended_at"] or r["rated_at"]
        slot = (*_slot(ended, zone), r["department"], r["topic"], r["locale"] or "")
        deltas.add(slot, r["agent_id"], rating_delta(old, new))
    if rows:
        await w.executemany(
            "UPDATE requests SET rolled_rating = ?, rolled_resolved = ?, rolled_nps = ?"
            " WHERE number = ?",
            [(r["rating"], r["resolved"], r["nps"], r["number"]) for r in rows],
        )
        await _mark(w, "ratings", rows[-1]["rated_at"], rows[-1]["number"])
    return len(rows)


async def _resolutions(
    w: Tx, deltas: _Deltas, mark: tuple[float, str], limit: int, zone: ZoneInfo
) -> int:
    """Each request's first "resolved" (by event id, which grows), in its chat's hour."""
    rows = await w.fetch(
        "SELECT e.id, e.at, r.created_at, c.ended_at, c.department, c.topic, c.agent_id,"
        " c.locale FROM request_events e JOIN requests r ON r.number = e.number"
        " JOIN chats c ON c.id = r.chat_id"
        " WHERE e.id > ? AND e.to_status = 'resolved' AND NOT EXISTS (SELECT 1"
        "  FROM request_events p WHERE p.number = e.number AND p.to_status = 'resolved'"
        "  AND p.id < e.id)"
        " ORDER BY e.id LIMIT ?",
        (int(mark[1] or 0), limit),
    )
    for r in rows:
        ended = r["ended_at"] or r["created_at"]
        slot = (*_slot(ended, zone), r["department"], r["topic"], r["locale"] or "")
        delta = {"res_sum": max(0.0, r["at"] - r["created_at"]), "res_n": 1}
        deltas.add(slot, r["agent_id"], delta)
    if rows:
        await _mark(w, "resolutions", rows[-1]["at"], str(rows[-1]["id"]))
    return len(rows)


async def _refusals(w: Tx, mark: tuple[float, str], limit: int, zone: ZoneInfo) -> int:
    """Refusals by id (ids grow as they are stored)."""
    rows = await w.fetch(
        "SELECT id, at, reason, topic FROM refusals WHERE id > ? ORDER BY id LIMIT ?",
        (int(mark[1] or 0), limit),
    )
    counts: dict[tuple[str, str, str], int] = {}
    for r in rows:
        k = (_slot(r["at"], zone)[1], r["topic"] or "", r["reason"])
        counts[k] = counts.get(k, 0) + 1
    if counts:
        await w.executemany(_REFUSAL_UPSERT, [(*k, n) for k, n in counts.items()])
        await _mark(w, "refusals", rows[-1]["at"], str(rows[-1]["id"]))
    return len(rows)
