"""Limits on attempts (sign-ins, identity checks, look-ups, new sessions), per key,
in moving windows.

An attempt is counted *before* it is checked, in one synchronous step with no await
in between (``FailureThrottle.attempt``, ``Window.take``): N guesses sent at once cost
N attempts, however the checks behind them interleave. A guess that turns out right
gives its attempt back (``Attempt.give_back``), so people who get it right are never
slowed down by their own success; one that is refused costs nothing more.

The counts live on the node that serves the checks: every sign-in, look-up and
pre-chat form is handled by the hub node (an edge passes them on), so one node's
memory is the whole truth. Each window keeps at most ``max_keys`` keys (the oldest
are forgotten first), so an attacker inventing keys cannot grow it without end.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .exceptions import LimitError

__all__ = ["Attempt", "FailureThrottle", "Window", "parse_limit"]

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_limit(spec: str) -> tuple[int, float]:
    """``"5/15 minutes"`` -> (5, 900.0); ``"30/minute"`` -> (30, 60.0)."""
    try:
        count, _, per = spec.partition("/")
        parts = per.split()
        amount = float(parts[0]) if len(parts) == 2 else 1.0
        unit = parts[-1].rstrip("s")
        limit, seconds = int(count), amount * _UNITS[unit]
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"not a limit: {spec!r} (like '5/15 minutes')") from exc
    if limit < 1 or seconds <= 0:
        raise ValueError(f"not a limit: {spec!r}")
    return limit, seconds


class Window:
    """At most ``limit`` attempts per key in any ``seconds``."""

    __slots__ = ("clock", "hits", "limit", "max_keys", "seconds")

    def __init__(
        self,
        spec: str,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.seconds = parse_limit(spec)
        self.max_keys = max_keys
        self.clock = clock
        self.hits: OrderedDict[str, deque[float]] = OrderedDict()

    def _times(self, key: str, now: float) -> deque[float]:
        times = self.hits.get(key)
        if times is None:
            times = self.hits[key] = deque()
            while len(self.hits) > self.max_keys:
                self.hits.popitem(last=False)
        else:
            self.hits.move_to_end(key)
        cutoff = now - self.seconds
        while times and times[0] <= cutoff:
            times.popleft()
        return times

    def wait(self, key: str) -> float:
        """0 if an attempt may be made now, else the seconds until one may."""
        now = self.clock()
        times = self._times(key, now)
        if len(times) < self.limit:
            return 0.0
        return max(times[0] + self.seconds - now, 0.001)

    def take(self, key: str) -> float:
        """Count an attempt of ``key`` and return 0, or return the seconds to wait (and
        count nothing) when the window is full: the check and the count in one step."""
        wait = self.wait(key)
        if not wait:
            self.hit(key)
        return wait

    def hit(self, key: str) -> None:
        now = self.clock()
        self._times(key, now).append(now)

    def give_back(self, key: str) -> None:
        """Forget one attempt (the latest) of ``key``."""
        times = self.hits.get(key)
        if times:
            times.pop()

    def clear(self, key: str) -> None:
        self.hits.pop(key, None)

    def count(self, key: str) -> int:
        return len(self._times(key, self.clock()))


@dataclass(slots=True)
class Attempt:
    """One counted attempt; tell it how it went."""

    throttle: FailureThrottle
    keys: Mapping[str, str]

    def give_back(self, clear: tuple[str, ...] = ()) -> None:
        """It was right (or never checked): the attempt is not counted, and the failures
        of the ``clear`` kinds (the account that just signed in, say) are forgotten."""
        for kind, key in self.keys.items():
            window = self.throttle.windows[kind]
            if kind in clear:
                window.clear(key)
            else:
                window.give_back(key)


class FailureThrottle:
    """``FailureThrottle("signin", account="5/15 minutes", address="20/15 minutes")``."""

    def __init__(
        self, name: str, *, clock: Callable[[], float] = time.monotonic, **limits: str
    ) -> None:
        self.name = name
        self.windows = {kind: Window(spec, clock=clock) for kind, spec in limits.items()}

    def attempt(self, keys: Mapping[str, str], message: str) -> Attempt:
        """Count an attempt under every key, or raise LimitError (``too_many_attempts``)
        without counting it when any window is full. Synchronous on purpose: nothing
        can run between the check and the count."""
        wait = max(self.windows[kind].wait(key) for kind, key in keys.items())
        if wait:
            seconds = int(wait) + 1
            raise LimitError(
                "too_many_attempts",
                f"{message}; try again in {seconds // 60 + 1} minutes",
                retry_after=seconds,
            )
        for kind, key in keys.items():
            self.windows[kind].hit(key)
        return Attempt(self, dict(keys))
