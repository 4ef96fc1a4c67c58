"""Service-level clocks in business hours (core/sla.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chatserver.core.hours import Hours, parse_hours
from chatserver.core.sla import SlaClock, deadline, elapsed, parse_policies, policy_for
from chatserver.exceptions import ConfigError

TZ = "Europe/Istanbul"
OFFICE = parse_hours(
    {
        "mon": "09:00-18:00", "tue": "09:00-18:00", "wed": "09:00-18:00",
        "thu": "09:00-18:00", "fri": "09:00-18:00", "closed_dates": ["2026-12-08"],
    }
)  # fmt: skip
HOUR = 3600.0


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(TZ)).timestamp()


def local(ts: float) -> str:
    return datetime.fromtimestamp(ts, ZoneInfo(TZ)).strftime("%a %Y-%m-%d %H:%M")


def test_around_the_clock_is_plain_arithmetic() -> None:
    start = at("2026-12-05 23:00")
    assert deadline(start, 2 * HOUR, Hours(), TZ) == start + 2 * HOUR
    assert elapsed(start, start + 5 * HOUR, Hours(), TZ) == 5 * HOUR


def test_a_budget_runs_only_while_open() -> None:
    # Friday 17:00 + 2 business hours: one hour on Friday, one on Monday
    assert local(deadline(at("2026-12-04 17:00"), 2 * HOUR, OFFICE, TZ)) == "Mon 2026-12-07 10:00"
    # before opening, the clock starts at opening
    assert local(deadline(at("2026-12-07 07:30"), HOUR, OFFICE, TZ)) == "Mon 2026-12-07 10:00"
    # a closed date (Tuesday the 8th) is skipped
    assert local(deadline(at("2026-12-07 17:00"), 2 * HOUR, OFFICE, TZ)) == "Wed 2026-12-09 10:00"


def test_elapsed_counts_open_time_only() -> None:
    assert elapsed(at("2026-12-04 17:00"), at("2026-12-07 10:00"), OFFICE, TZ) == 2 * HOUR
    assert elapsed(at("2026-12-05 10:00"), at("2026-12-06 20:00"), OFFICE, TZ) == 0


def test_a_night_shift_past_midnight() -> None:
    night = parse_hours(
        {d: "22:00-02:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )
    # 2.5 hours until 02:00, the last half hour from 22:00 the next night
    assert local(deadline(at("2026-12-07 23:30"), 3 * HOUR, night, TZ)) == "Tue 2026-12-08 22:30"


def test_the_clock_pauses_while_waiting_for_the_player() -> None:
    clock = SlaClock.start(4 * HOUR, at("2026-12-07 09:00"))
    assert local(clock.due(OFFICE, TZ) or 0) == "Mon 2026-12-07 13:00"
    paused = clock.pause(at("2026-12-07 10:00"), OFFICE, TZ)  # asked for a document
    assert paused.due(OFFICE, TZ) is None and paused.spent == HOUR
    assert not paused.breached(at("2026-12-11 17:00"), OFFICE, TZ)
    resumed = paused.resume(at("2026-12-09 16:00"))  # the player answered on Wednesday
    assert local(resumed.due(OFFICE, TZ) or 0) == "Thu 2026-12-10 10:00"
    assert not resumed.breached(at("2026-12-10 09:59"), OFFICE, TZ)
    assert resumed.breached(at("2026-12-10 10:01"), OFFICE, TZ)


def _level(where: str, raw: object) -> int:
    return {"normal": 0, "high": 1, "urgent": 2}[str(raw)]


def test_each_target_comes_from_the_most_specific_table_that_sets_it() -> None:
    tables = [
        {"first_response": "2m", "next_response": "4h", "resolution": "48h"},
        {"topic": "complaint", "resolution": "24h"},
        {"priority": "urgent", "resolution": "4h", "first_response": 30},
    ]
    policies = parse_policies(tables, {"complaint": None, "payment": None}, _level)
    plain = policy_for(policies, "payment", 0)
    assert plain is not None
    assert (plain.first_response, plain.next_response, plain.resolution) == (
        120,
        4 * HOUR,
        48 * HOUR,
    )
    complaint = policy_for(policies, "complaint", 0)
    assert complaint is not None
    assert (complaint.first_response, complaint.resolution) == (120, 24 * HOUR)
    # a topic's table is more specific than any priority's
    urgent = policy_for(policies, "complaint", 2)
    assert urgent is not None and (urgent.first_response, urgent.resolution) == (30, 24 * HOUR)
    assert policy_for(policies[1:], "payment", 0) is None


def test_a_table_without_a_target_or_with_a_stray_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        parse_policies([{"topic": "complaint"}], {"complaint": None}, _level)
    with pytest.raises(ConfigError, match="first_reply"):
        parse_policies([{"first_reply": "2m"}], {}, _level)
    with pytest.raises(ConfigError, match="next_response"):
        parse_policies([{"next_response": "soon"}], {}, _level)
