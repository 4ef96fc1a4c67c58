"""What a chat, a rating or a refusal adds to its hour, and a report from summed hours.

Pure: times are epoch seconds; local days are decided when the rollup is written. Queue
waits are kept as counts per bucket (``WAIT_BOUNDS``), so the median and the 90th
percentile of any range are read from the summed buckets: exact to the bucket, at any size.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

__all__ = [
    "HOUR_COLUMNS",
    "WAIT_BOUNDS",
    "ChatFacts",
    "as_csv",
    "build_report",
    "chat_delta",
    "hour_of",
    "rating_delta",
    "wait_percentile",
]

# upper bounds (seconds) of the wait buckets w0..w6; w7 is everything longer
WAIT_BOUNDS = (15, 30, 60, 120, 300, 600, 1800)
WAIT_COLUMNS = tuple(f"w{i}" for i in range(len(WAIT_BOUNDS) + 1))
HOUR_COLUMNS = (
    "chats", "offline", "answered", "abandoned", "wait_sum", *WAIT_COLUMNS, "frt_sum", "frt_n",
    "handle_sum", "resolved", "rated", "rating_sum", "satisfied", "said_resolved", "nps_n",
    "promoters", "detractors", "res_sum", "res_n",
)  # fmt: skip


def hour_of(t: float) -> int:
    """The start of ``t``'s hour (UTC), in epoch seconds."""
    return int(t // 3600 * 3600)


def wait_bucket(seconds: float) -> str:
    for i, bound in enumerate(WAIT_BOUNDS):
        if seconds < bound:
            return WAIT_COLUMNS[i]
    return WAIT_COLUMNS[-1]


@dataclass(frozen=True, slots=True)
class ChatFacts:
    """An ended chat, as the rollup reads it."""

    created_at: float
    assigned_at: float | None
    first_response_at: float | None
    ended_at: float
    offline: bool
    resolution: str | None


def chat_delta(f: ChatFacts) -> dict[str, float]:
    """What one ended chat adds to its hour's row."""
    d: dict[str, float] = {"chats": 1}
    if f.offline:
        d["offline"] = 1
    elif f.assigned_at is None:
        d["abandoned"] = 1
    else:
        wait = max(0.0, f.assigned_at - f.created_at)
        d.update(answered=1, wait_sum=wait, handle_sum=max(0.0, f.ended_at - f.assigned_at))
        d[wait_bucket(wait)] = 1
        if f.first_response_at is not None:
            d.update(frt_sum=max(0.0, f.first_response_at - f.assigned_at), frt_n=1)
    if f.resolution == "resolved":
        d["resolved"] = 1
    return d


def rating_delta(
    old: tuple[int | None, bool | None, int | None],
    new: tuple[int | None, bool | None, int | None],
) -> dict[str, float]:
    """The change a (replaced) answer makes: take the old one out, put the new one in.
    An answer is (rating 1-5, said resolved, would-recommend 0-10)."""
    d: dict[str, float] = {}
    for (rating, resolved, nps), sign in ((old, -1), (new, 1)):
        if nps is not None:
            d["nps_n"] = d.get("nps_n", 0) + sign
            if nps >= 9:
                d["promoters"] = d.get("promoters", 0) + sign
            elif nps <= 6:
                d["detractors"] = d.get("detractors", 0) + sign
        if rating is not None:
            d["rated"] = d.get("rated", 0) + sign
            d["rating_sum"] = d.get("rating_sum", 0) + sign * rating
            if rating >= 4:
                d["satisfied"] = d.get("satisfied", 0) + sign
        if resolved:
            d["said_resolved"] = d.get("said_resolved", 0) + sign
    return {k: v for k, v in d.items() if v}


def wait_percentile(buckets: Sequence[float], q: float) -> tuple[int | None, bool]:
    """(the bucket bound under which a share ``q`` of waits fell, whether it is beyond the
    last bound): (None, False) without waits, (1800, True) for "over 30 minutes"."""
    total = sum(buckets)
    if not total:
        return None, False
    seen = 0.0
    for i, n in enumerate(buckets):
        seen += n
        if seen >= q * total and i < len(WAIT_BOUNDS):
            return WAIT_BOUNDS[i], False
    return WAIT_BOUNDS[-1], True


def _ratio(a: float, b: float, digits: int = 3) -> float | None:
    return round(a / b, digits) if b else None


def _figures(s: Mapping[str, float]) -> dict[str, Any]:
    """The figures of a sum of hour rows."""
    waits = [s.get(c, 0) for c in WAIT_COLUMNS]
    return {
        "chats": int(s.get("chats", 0)),
        "offline": int(s.get("offline", 0)),
        "answered": int(s.get("answered", 0)),
        "abandoned": int(s.get("abandoned", 0)),
        "wait_avg": _ratio(s.get("wait_sum", 0), s.get("answered", 0), 1),
        # the bucket bound each share of waits fell under; *_over: beyond the last bound
        "wait_p50": (p50 := wait_percentile(waits, 0.5))[0],
        "wait_p50_over": p50[1],
        "wait_p90": (p90 := wait_percentile(waits, 0.9))[0],
        "wait_p90_over": p90[1],
        "first_response_avg": _ratio(s.get("frt_sum", 0), s.get("frt_n", 0), 1),
        "handle_avg": _ratio(s.get("handle_sum", 0), s.get("answered", 0), 1),
        # a request's first "resolved", from when it was created (the chat's end)
        "resolution_avg": _ratio(s.get("res_sum", 0), s.get("res_n", 0), 1),
        "resolutions": int(s.get("res_n", 0)),
        "resolved_share": _ratio(s.get("resolved", 0), s.get("answered", 0)),
        "ratings": int(s.get("rated", 0)),
        "rating_avg": _ratio(s.get("rating_sum", 0), s.get("rated", 0), 2),
        "csat": _ratio(s.get("satisfied", 0), s.get("rated", 0)),
        "said_resolved_share": _ratio(s.get("said_resolved", 0), s.get("rated", 0)),
        "nps_answers": int(s.get("nps_n", 0)),
        # Net Promoter Score: promoters' share minus detractors', in points (-100 to 100)
        "nps": (
            round(100 * (s.get("promoters", 0) - s.get("detractors", 0)) / s["nps_n"], 1)
            if s.get("nps_n")
            else None
        ),
    }


def _add(into: dict[str, float], row: Mapping[str, Any]) -> None:
    for c in HOUR_COLUMNS:
        into[c] = into.get(c, 0) + (row.get(c) or 0)


def build_report(
    days: Iterable[Mapping[str, Any]],
    hours_of_day: Iterable[Mapping[str, Any]],
    agents: Iterable[Mapping[str, Any]],
    refusals: Iterable[Mapping[str, Any]],
    *,
    agent_names: Mapping[int, str],
    span: tuple[date, date],
) -> dict[str, Any]:
    """The report from summed rollups: totals (of the days), a series per local day (every day of
    ``span``, zeros where nothing happened), chats per local hour of the day, a row per agent
    and refusals by reason."""
    total: dict[str, float] = {}
    series: dict[str, dict[str, float]] = {}
    day = span[0]
    while day <= span[1]:
        series[day.isoformat()] = {}
        day += timedelta(days=1)
    for row in days:
        _add(series.setdefault(row["day"], {}), row)
        _add(total, row)
    by_hour = [0] * 24
    for row in hours_of_day:
        by_hour[int(row["hod"])] += int(row["chats"] or 0)
    per_agent = []
    for row in agents:
        one: dict[str, float] = {}
        _add(one, row)
        figures = _figures(one)
        per_agent.append(
            {
                "agent_id": row["agent_id"],
                "agent": agent_names.get(row["agent_id"], f"#{row['agent_id']}"),
                **{k: figures[k] for k in ("answered", "handle_avg", "first_response_avg")},
                **{k: figures[k] for k in ("ratings", "rating_avg", "csat", "nps")},
            }
        )
    per_agent.sort(key=lambda a: (-a["answered"], a["agent"]))
    refused: dict[str, int] = {}
    for row in refusals:
        refused[row["reason"]] = refused.get(row["reason"], 0) + int(row["refused"] or 0)
    return {
        "totals": _figures(total),
        "days": [{"day": d, **_figures(s)} for d, s in sorted(series.items())],
        "hours_of_day": by_hour,
        "agents": per_agent,
        "refusals": dict(sorted(refused.items())),
    }


def as_csv(report: Mapping[str, Any], table: str) -> str:
    """One of the report's tables (``days``, ``agents``, ``hours_of_day``, ``refusals``) as
    CSV with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if table in ("days", "agents"):
        rows: list[dict[str, Any]] = report[table]
        columns = list(rows[0]) if rows else ["day" if table == "days" else "agent"]
        writer.writerow(columns)
        for r in rows:
            writer.writerow(["" if r[c] is None else r[c] for c in columns])
    elif table == "hours_of_day":
        writer.writerow(["hour", "chats"])
        writer.writerows(enumerate(report["hours_of_day"]))
    else:
        writer.writerow(["reason", "refused"])
        writer.writerows(report["refusals"].items())
    return out.getvalue()
