"""The desk's timers on the hub node: a request that waited ``confirm_close_days`` for the
player's "resolved?" closes by itself, with a note in its history."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from ..config import Settings
from ..core.lifecycle import Event
from ..exceptions import StateError, StoreError
from .desk import RequestDesk

__all__ = ["DeskTimers"]

log = logging.getLogger("chatserver.desk")
EVERY = 60.0
_BATCH = 100


class DeskTimers:
    def __init__(
        self, desk: RequestDesk, settings: Settings, *, clock: Callable[[], float]
    ) -> None:
        self.desk = desk
        self.settings = settings
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Close what waited too long for the player, and mark what missed its resolution
        target; returns how many were closed."""
        await self.desk.check_breaches()
        days = self.settings.confirm_close_days
        cutoff = self.clock() - days * 86400
        done = 0
        for number in await self.desk.store.awaiting_since_before(cutoff, _BATCH):
            try:
                await self.desk.event(
                    number, Event.CONFIRM_TIMEOUT, actor="system", changed_by="system",
                    note=f"No answer from the player in {days:g} days.", confirm_close=True,
                )  # fmt: skip
                done += 1
            except StateError:  # answered meanwhile
                continue
        return done

    def start(self, every: float | None = None) -> None:
        every = every if every is not None else self.settings.sla_check_seconds

        async def loop() -> None:
            while True:
                await asyncio.sleep(every)
                try:
                    await self.run_once()
                except StoreError as exc:
                    log.warning("request timers failed: %s", exc)
                except Exception:  # a bug: log it, and keep the timers running
                    log.exception("request timers failed")

        self._task = asyncio.get_running_loop().create_task(loop(), name="desk-timers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
