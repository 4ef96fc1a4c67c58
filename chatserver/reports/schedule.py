"""When the weekly report is due and to whom it goes (settings), without drawing anything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..exceptions import ConfigError

__all__ = ["LANGUAGES", "next_run", "parse_recipients", "parse_schedule"]

LANGUAGES = ("tr", "en")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_schedule(spec: str) -> tuple[int, int, int]:
    """``"mon 09:00"`` -> (weekday 0-6, hour, minute); ConfigError otherwise."""
    try:
        day, clock = spec.lower().split()
        hour, minute = (int(x) for x in clock.split(":"))
        weekday = _DAYS.index(day[:3])
    except ValueError:
        raise ConfigError(f"weekly_report_at: {spec!r} is not like 'mon 09:00'") from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ConfigError(f"weekly_report_at: {spec!r} is not a time of day")
    return weekday, hour, minute


def parse_recipients(entries: Sequence[str]) -> list[tuple[str, str]]:
    """``["tr:lead@example.com", "ops@example.com"]`` -> [(language, address)]; an address
    without a language gets Turkish."""
    out = []
    for entry in entries:
        lang, sep, address = entry.partition(":")
        if not sep:
            lang, address = "tr", entry
        if lang not in LANGUAGES or "@" not in address:
            raise ConfigError(f"weekly_report_to: {entry!r} is not 'tr:name@example.com'")
        out.append((lang, address.strip()))
    return out


def next_run(now: float, spec: str, tz: str) -> float:
    """The next time (epoch seconds, after ``now``) the weekly report is due."""
    weekday, hour, minute = parse_schedule(spec)
    local = datetime.fromtimestamp(now, ZoneInfo(tz))
    at = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    at += timedelta(days=(weekday - local.weekday()) % 7)
    if at.timestamp() <= now:
        at += timedelta(days=7)
    return at.timestamp()
