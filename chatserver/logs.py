"""Log lines that a client can cause over and over, written once per interval.

A broken frame sent 300 times must not write 300 tracebacks: the first is logged in
full, the rest are counted and summed up in the next line after the interval.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

__all__ = ["OncePerInterval"]


class OncePerInterval:
    def __init__(
        self,
        logger: logging.Logger,
        seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.seconds = seconds
        self.clock = clock
        self.last = -seconds
        self.suppressed = 0

    def exception(self, message: str, *args: object) -> None:
        """``logger.exception``, or a count of it while the interval lasts."""
        now = self.clock()
        if now - self.last < self.seconds:
            self.suppressed += 1
            return
        if self.suppressed:
            message += f" (and {self.suppressed} more like it in the last interval)"
        self.last, self.suppressed = now, 0
        self.logger.exception(message, *args)
