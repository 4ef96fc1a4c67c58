"""Reports on a running server: the rollup task on the hub node, and reading a report.

Every ``report_rollup_seconds`` the hub adds what ended, was rated or was refused up to
``SETTLE`` seconds ago (so writes still in flight are not skipped) to the hourly rollups, a
batch of each kind per transaction. A report reads summed rollups (never messages) and is
built on the ``reports`` pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from ..exceptions import StoreError
from ..pools import BoundedPool
from ..store import Store
from .figures import build_report

__all__ = ["SETTLE", "Reports"]

log = logging.getLogger("chatserver.reports")
SETTLE = 5.0  # seconds: what ended more recently is rolled up at the next run
BATCH = 500


class Reports:
    def __init__(
        self,
        store: Store,
        pool: BoundedPool,
        topics: Mapping[str, str],
        *,
        timezone: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.pool = pool
        self.topics = dict(topics)  # topic -> department
        self.timezone = timezone
        self.clock = clock
        self.rolled = 0  # rows added since start, for /metrics
        self._task: asyncio.Task[None] | None = None
        # one rollup at a time: two would both read the same watermark and count twice
        # (only the hub node rolls up, so this lock is the only one needed)
        self._lock = asyncio.Lock()

    async def roll_up(self, until: float | None = None) -> int:
        """Add everything up to ``until`` (default: now minus SETTLE); how many items."""
        until = self.clock() - SETTLE if until is None else until
        total = 0
        async with self._lock:
            while True:
                done = await self.store.roll_up(until, self.topics, self.timezone, BATCH)
                total += done
                if done < BATCH:
                    break
                await asyncio.sleep(0)  # between batches, others have their turn
        self.rolled += total
        return total

    def start(self, every: float) -> None:
        self._task = asyncio.create_task(self._run(every), name="report-rollups")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, every: float) -> None:
        while True:
            try:
                await self.roll_up()
            except StoreError as exc:
                log.warning("reports: cannot roll up now: %s", exc)
            await asyncio.sleep(every)

    async def report(
        self,
        span: tuple[date, date],
        filters: Mapping[str, Any],
        agent_names: Mapping[int, str],
    ) -> dict[str, Any]:
        """The report for the local days ``span`` (first, last) and filters (see
        ``figures.build_report``)."""
        query = dict(filters)
        if query.get("department") is not None:
            query["department_topics"] = [
                t for t, d in self.topics.items() if d == query["department"]
            ]
        rows = await self.store.report_rows(span[0].isoformat(), span[1].isoformat(), query)
        lists = [[dict(r) for r in part] for part in rows]
        return await self.pool.run(lambda: build_report(*lists, agent_names=agent_names, span=span))
