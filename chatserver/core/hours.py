"""Business hours: a weekly schedule in a department's time zone, plus closed dates.

A day's hours are ``"09:00-18:00"``, several ranges ``"09:00-12:00, 13:00-18:00"``,
``"closed"``, or ``"24h"``. A range that ends before it starts runs past midnight
(``"22:00-02:00"``). ``"24/7"`` for the whole schedule means always open.

Pure: the caller passes the local time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ..exceptions import ConfigError

__all__ = ["DAYS", "Hours", "parse_hours"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class Hours:
    """Open ranges per weekday (minutes from midnight), and dates closed all day."""

    always: bool = True
    week: tuple[tuple[tuple[int, int], ...], ...] = ((),) * 7
    closed_dates: frozenset[date] = field(default_factory=frozenset)

    def is_open(self, local: datetime) -> bool:
        """Open at this local time?"""
        if self.always:
            return True
        minute = local.hour * 60 + local.minute
        today = local.date()
        if today not in self.closed_dates:
            for start, end in self.week[local.weekday()]:
                if start <= minute < end or (end <= start and minute >= start):
                    return True
        # the tail of yesterday's range that runs past midnight
        yesterday = today - timedelta(days=1)
        if yesterday not in self.closed_dates:
            for start, end in self.week[yesterday.weekday()]:
                if end <= start and minute < end:
                    return True
        return False

    def next_opening(self, local: datetime) -> datetime | None:
        """When it opens next (local time, minute precision), or None if never within 2 weeks."""
        if self.always or self.is_open(local):
            return local
        day = local.replace(second=0, microsecond=0)
        for offset in range(15):
            d = (day + timedelta(days=offset)).date()
            if d in self.closed_dates:
                continue
            for start, _ in sorted(self.week[d.weekday()]):
                candidate = datetime(
                    d.year, d.month, d.day, start // 60, start % 60, tzinfo=local.tzinfo
                )
                if candidate > local:
                    return candidate
        return None


def _minutes(h: str, m: str, text: str) -> int:
    hh, mm = int(h), int(m)
    if not (0 <= hh <= 24 and 0 <= mm < 60) or (hh == 24 and mm):
        raise ConfigError(f"hours: {text!r} is not a time range like 09:00-18:00")
    return hh * 60 + mm


def _day(text: str) -> tuple[tuple[int, int], ...]:
    text = text.strip().lower()
    if text in ("closed", ""):
        return ()
    if text in ("24h", "00:00-24:00"):
        return ((0, _DAY),)
    ranges = []
    for part in text.split(","):
        m = _RANGE.match(part.strip())
        if not m:
            raise ConfigError(f"hours: {part.strip()!r} is not a time range like 09:00-18:00")
        start, end = _minutes(m[1], m[2], part), _minutes(m[3], m[4], part)
        if start == end:
            raise ConfigError(f"hours: {part.strip()!r} is empty")
        ranges.append((start, end))
    return tuple(ranges)


def parse_hours(raw: object) -> Hours:
    """``"24/7"`` or a table of weekdays (mon..sun) and optional ``closed_dates``."""
    if raw is None or raw == "24/7":
        return Hours()
    if not isinstance(raw, Mapping):
        raise ConfigError('hours must be "24/7" or a table with mon, tue, ... sun')
    unknown = set(raw) - set(DAYS) - {"closed_dates"}
    if unknown:
        raise ConfigError(f"hours: unknown key(s) {', '.join(sorted(unknown))}")
    week = tuple(_day(str(raw.get(d, "closed"))) for d in DAYS)
    closed = set()
    for value in raw.get("closed_dates", []):
        try:
            closed.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError:
            raise ConfigError(f"hours: closed date {value!r} is not YYYY-MM-DD") from None
    return Hours(always=False, week=week, closed_dates=frozenset(closed))
