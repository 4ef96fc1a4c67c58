"""Business hours: weekly ranges, overnight ranges, closed dates, next opening."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from chatserver.core.hours import parse_hours
from chatserver.exceptions import ConfigError

IST = ZoneInfo("Europe/Istanbul")
WEEK = {
    "mon": "09:00-18:00",
    "tue": "09:00-12:00, 13:00-18:00",
    "fri": "22:00-02:00",
    "sat": "24h",
    "closed_dates": ["2026-11-23"],
}


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=IST)


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        (at(2026, 11, 16, 8, 59), False),  # Monday before opening
        (at(2026, 11, 16, 9, 0), True),
        (at(2026, 11, 16, 17, 59), True),
        (at(2026, 11, 16, 18, 0), False),  # the end is exclusive
        (at(2026, 11, 17, 12, 30), False),  # Tuesday's lunch break
        (at(2026, 11, 17, 13, 0), True),
        (at(2026, 11, 18, 10, 0), False),  # Wednesday not listed: closed
        (at(2026, 11, 20, 23, 0), True),  # Friday night
        (at(2026, 11, 21, 1, 59), True),  # ...past midnight into Saturday
        (at(2026, 11, 21, 12, 0), True),  # Saturday 24h
        (at(2026, 11, 22, 1, 0), False),  # Saturday's 24h ends at midnight; Sunday is closed
        (at(2026, 11, 22, 10, 0), False),  # Sunday
        (at(2026, 11, 23, 10, 0), False),  # a Monday, but a closed date
    ],
)
def test_open_or_closed(when: datetime, is_open: bool) -> None:
    """Each range opens at its start and closes at its end, overnight ranges included."""
    assert parse_hours(WEEK).is_open(when) is is_open


def test_next_opening() -> None:
    """The next start of a range, skipping closed dates."""
    hours = parse_hours(WEEK)
    assert hours.next_opening(at(2026, 11, 16, 7, 0)) == at(2026, 11, 16, 9, 0)
    assert hours.next_opening(at(2026, 11, 22, 10, 0)) == at(2026, 11, 24, 9, 0)  # 23rd closed
    assert hours.next_opening(at(2026, 11, 16, 10, 0)) == at(2026, 11, 16, 10, 0)  # open now
    assert parse_hours({"closed_dates": []}).next_opening(at(2026, 11, 16, 7, 0)) is None


def test_always_open() -> None:
    """24/7 (or nothing) is always open."""
    assert parse_hours("24/7").is_open(at(2026, 12, 31, 3, 0))
    assert parse_hours(None).is_open(at(2026, 12, 31, 3, 0))


@pytest.mark.parametrize(
    "raw",
    [
        "weekdays",
        {"mon": "9-18"},
        {"mon": "25:00-26:00"},
        {"mon": "10:00-10:00"},
        {"monday": "09:00-18:00"},
        {"closed_dates": ["tomorrow"]},
    ],
)
def test_bad_hours_are_refused(raw: object) -> None:
    """Unreadable schedules are configuration errors, not silently closed days."""
    with pytest.raises(ConfigError):
        parse_hours(raw)


def test_closed_dates_accept_toml_dates() -> None:
    """TOML gives real dates; strings work too."""
    hours = parse_hours({"mon": "24h", "closed_dates": [date(2026, 11, 16), "2026-11-30"]})
    assert hours.closed_dates == frozenset({date(2026, 11, 16), date(2026, 11, 30)})
