"""When the weekly report is due, and to whom."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from chatserver.exceptions import ConfigError
from chatserver.reports.schedule import next_run, parse_recipients, parse_schedule
from chatserver.reports.weekly import last_week

IST = ZoneInfo("Europe/Istanbul")


def at(*args: int) -> float:
    return datetime(*args, tzinfo=IST).timestamp()


def test_next_run_is_the_next_such_weekday_and_time_in_the_time_zone() -> None:
    # Sunday 2026-12-06 10:00 Istanbul -> Monday 09:00
    assert next_run(at(2026, 12, 6, 10), "mon 09:00", "Europe/Istanbul") == at(2026, 12, 7, 9)
    # Monday 09:00 exactly: the next week's
    assert next_run(at(2026, 12, 7, 9), "mon 09:00", "Europe/Istanbul") == at(2026, 12, 14, 9)
    assert next_run(at(2026, 12, 7, 8, 59), "Monday 09:00", "Europe/Istanbul") == at(2026, 12, 7, 9)
    assert last_week(at(2026, 12, 7, 9), "Europe/Istanbul") == (
        datetime(2026, 11, 30).date(), datetime(2026, 12, 6).date(),
    )  # fmt: skip


@pytest.mark.parametrize("spec", ["", "mon", "xyz 09:00", "mon 25:00", "mon 9"])
def test_bad_schedules(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_schedule(spec)


def test_recipients() -> None:
    assert parse_recipients(["en:ops@example.com", "lead@example.com"]) == [
        ("en", "ops@example.com"), ("tr", "lead@example.com"),
    ]  # fmt: skip
    with pytest.raises(ConfigError):
        parse_recipients(["de:x@example.com"])
