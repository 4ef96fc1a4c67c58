"""Limits on failed attempts (sign-ins, identity checks), per key, in moving windows.

Built on the ``limits`` library with in-memory storage (one node); only failures
are counted, so people who get it right are never slowed down.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from .exceptions import LimitError

__all__ = ["FailureThrottle"]


class FailureThrottle:
    """``FailureThrottle("signin", account="5/15 minutes", address="20/15 minutes")``."""

    def __init__(self, name: str, **limits: str) -> None:
        self.name = name
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.limits: dict[str, RateLimitItem] = {kind: parse(spec) for kind, spec in limits.items()}

    async def check(self, keys: Mapping[str, str], message: str) -> None:
        """Raise LimitError (code ``too_many_attempts``) while any window is full."""
        for kind, key in keys.items():
            item = self.limits[kind]
            if not await self.limiter.test(item, self.name, kind, key):
                stats = await self.limiter.get_window_stats(item, self.name, kind, key)
                wait = max(1, int(stats.reset_time - time.time()))
                raise LimitError(
                    "too_many_attempts",
                    f"{message}; try again in {wait // 60 + 1} minutes",
                    retry_after=wait,
                )

    async def failed(self, keys: Mapping[str, str]) -> None:
        for kind, key in keys.items():
            await self.limiter.hit(self.limits[kind], self.name, kind, key)

    async def succeeded(self, kind: str, key: str) -> None:
        await self.limiter.clear(self.limits[kind], self.name, kind, key)
