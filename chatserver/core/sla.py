"""Service-level clocks in business hours.

A target (first response, next response, resolution) is a budget of business seconds: time
counts only while the department is open (``core.hours``) and while the clock runs (it pauses
while the team waits for the player). ``deadline`` says when a budget runs out from a moment;
``elapsed`` how much business time passed between two moments; ``SlaClock`` keeps one
target's budget across pauses.

Pure: moments are epoch seconds, the caller passes them and the department's time zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .hours import Hours

__all__ = ["SlaClock", "deadline", "elapsed", "open_spans"]

_HORIZON_DAYS = 400  # a budget that cannot be spent within this is never due


def open_spans(hours: Hours, tz: str, start: float) -> Iterator[tuple[float, float]]:
    """The open spans (epoch seconds) from ``start`` on, in order, clipped to begin there."""
    if hours.always:
        yield start, float("inf")
        return
    zone = ZoneInfo(tz)
    first = datetime.fromtimestamp(start, zone).date() - timedelta(days=1)
    for offset in range(_HORIZON_DAYS):
        day = first + timedelta(days=offset)
        if day in hours.closed_dates:
            continue
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        for begin, end in hours.week[day.weekday()]:
            a = midnight + timedelta(minutes=begin)
            b = midnight + timedelta(minutes=end if end > begin else end + 24 * 60)
            lo, hi = max(a.timestamp(), start), b.timestamp()
            if hi > lo:
                yield lo, hi


def deadline(start: float, budget: float, hours: Hours, tz: str) -> float | None:
    """When ``budget`` business seconds from ``start`` run out (None: not within a year)."""
    left = max(0.0, budget)
    for lo, hi in open_spans(hours, tz, start):
        if hi - lo >= left:
            return lo + left
        left -= hi - lo
    return None


def elapsed(start: float, end: float, hours: Hours, tz: str) -> float:
    """Business seconds between ``start`` and ``end``."""
    total = 0.0
    for lo, hi in open_spans(hours, tz, start):
        if lo >= end:
            break
        total += min(hi, end) - lo
    return total


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One target's budget: ``spent`` business seconds before ``since`` (None: paused)."""

    budget: float
    spent: float = 0.0
    since: float | None = None

    @classmethod
    def start(cls, budget: float, now: float) -> SlaClock:
        return cls(budget, 0.0, now)

    def pause(self, now: float, hours: Hours, tz: str) -> SlaClock:
        if self.since is None:
            return self
        return replace(self, spent=self.spent + elapsed(self.since, now, hours, tz), since=None)

    def resume(self, now: float) -> SlaClock:
        return self if self.since is not None else replace(self, since=now)

    def due(self, hours: Hours, tz: str) -> float | None:
        """When it breaches if it keeps running (None while paused)."""
        if self.since is None:
            return None
        return deadline(self.since, self.budget - self.spent, hours, tz)

    def breached(self, now: float, hours: Hours, tz: str) -> bool:
        spent = self.spent
        if self.since is not None:
            spent += elapsed(self.since, now, hours, tz)
        return spent > self.budget
