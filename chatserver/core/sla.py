"""Service-level clocks in business hours.

A target (first response, next response, resolution) is a budget of business seconds: time
counts only while the department is open (``core.hours``) and while the clock runs (it pauses
while the team waits for the player). ``deadline`` says when a budget runs out from a moment;
``elapsed`` how much business time passed between two moments; ``SlaClock`` keeps one
target's budget across pauses.

Pure: moments are epoch seconds, the caller passes them and the department's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..exceptions import ConfigError
from .hours import Hours

__all__ = [
    "TARGETS",
    "SlaClock",
    "SlaPolicy",
    "deadline",
    "elapsed",
    "open_spans",
    "parse_duration",
    "parse_policies",
    "policy_for",
]

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


TARGETS = ("first_response", "next_response", "resolution")


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Targets (business seconds of the department; None: none) for a request of ``topic``
    (None: any) at ``priority`` or more (None: any): ``first_response``, from the chat's start
    to the agent's first answer; ``next_response``, from the player's follow-up to the team's
    reply; ``resolution``, from the request's creation, paused while waiting for the player."""

    topic: str | None
    priority: int | None
    resolution: float | None = None
    first_response: float | None = None
    next_response: float | None = None


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(raw: object, what: str) -> float:
    """``"90s"``, ``"5m"``, ``"24h"``, ``"2d"`` or a number of seconds."""
    if isinstance(raw, int | float) and not isinstance(raw, bool) and raw > 0:
        return float(raw)
    m = _DURATION.match(str(raw).strip()) if isinstance(raw, str) else None
    if m is None or float(m.group(1)) <= 0:
        raise ConfigError(f'{what}: a duration like "30m", "24h" or "2d"')
    return float(m.group(1)) * _UNIT[m.group(2)]


def parse_policies(
    raw: object, topics: Mapping[str, object], priority: object
) -> tuple[SlaPolicy, ...]:
    """The routing file's ``[[sla]]`` tables. ``priority`` reads a priority value."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("routing: [[sla]] must be a list of tables")
    out = []
    for i, table in enumerate(raw, 1):
        if not isinstance(table, Mapping):
            raise ConfigError(f"sla {i}: must be a table")
        unknown = set(table) - {"topic", "priority", *TARGETS}
        if unknown:
            raise ConfigError(f"sla {i}: unknown key(s) {', '.join(sorted(unknown))}")
        if not any(table.get(t) is not None for t in TARGETS):
            raise ConfigError(f"sla {i}: set at least one of {', '.join(TARGETS)}")
        topic = table.get("topic")
        if topic is not None and topic not in topics:
            raise ConfigError(f"sla {i}: topic {topic!r} is not defined")
        level = None
        if table.get("priority") is not None:
            level = priority(f"sla {i}", table["priority"])  # type: ignore[operator]
        targets = {
            t: parse_duration(table[t], f"sla {i}: {t}")
            for t in TARGETS
            if table.get(t) is not None
        }
        out.append(SlaPolicy(topic, level, **targets))
    return tuple(out)


def policy_for(policies: Sequence[SlaPolicy], topic: str, priority: int) -> SlaPolicy | None:
    """The targets for a request: for each target, the most specific table that sets it (its
    topic over any topic, then the highest priority it reaches); None when none applies."""
    fitting = [
        p
        for p in policies
        if (p.topic is None or p.topic == topic) and (p.priority is None or priority >= p.priority)
    ]
    if not fitting:
        return None
    fitting.sort(key=lambda p: (int(p.topic is not None), -1 if p.priority is None else p.priority))
    merged = SlaPolicy(topic, priority)
    for p in fitting:  # least specific first: a more specific table overrides what it sets
        merged = replace(merged, **{t: getattr(p, t) for t in TARGETS if getattr(p, t) is not None})
    return merged
