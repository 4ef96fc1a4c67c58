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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..exceptions import StoreError
from ..mail import Mailer, MailError
from ..pools import BoundedPool, Busy
from ..store import Store
from .figures import build_report
from .schedule import next_run
from .weekly import last_week, weekly_mail

__all__ = ["SETTLE", "Reports", "WeeklyMail"]

log = logging.getLogger("chatserver.reports")


@dataclass(frozen=True)
class WeeklyMail:
    """Where and how the weekly report goes."""

    to: list[tuple[str, str]]  # (language, address)
    at: str  # "mon 09:00"
    sender: str
    base_url: str
    mailer: Mailer
    pool: BoundedPool  # the mail pool: building a message with charts is CPU work


SETTLE = 5.0  # seconds: what ended more recently is rolled up at the next run
# chats (and answers, and refusals) per rollup transaction: small, because on SQLite the
# store's writer waits while one runs (bench/README.md, "Reports")
BATCH = 200


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
        self._weekly: asyncio.Task[None] | None = None

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

    def start_weekly(self, mail: WeeklyMail) -> None:
        """Send the weekly report at ``mail.at`` every week (nothing without recipients)."""
        if mail.to:
            self._weekly = asyncio.create_task(self._weekly_loop(mail), name="weekly-report")

    async def _weekly_loop(self, mail: WeeklyMail) -> None:
        while True:
            due = next_run(self.clock(), mail.at, self.timezone)
            await asyncio.sleep(max(0.0, due - self.clock()))
            try:
                await self.send_weekly(mail, due)
            except (StoreError, Busy) as exc:
                log.warning("weekly report: not sent: %s", exc)

    async def send_weekly(self, mail: WeeklyMail, at: float) -> int:
        """The report of the seven days before ``at``, to every recipient; how many got it
        (one that fails is logged and the others still get theirs)."""
        await self.roll_up(until=at)
        report = await self.report(last_week(at, self.timezone), {})
        sent = 0
        for lang, to in mail.to:
            raw = await mail.pool.run(weekly_mail, report, lang, mail.sender, to, mail.base_url)
            try:
                await mail.mailer.send_raw(to, raw)
                sent += 1
            except MailError as exc:
                log.warning("weekly report: could not e-mail %s: %s", to, exc)
        return sent

    async def stop(self) -> None:
        for task in (self._task, self._weekly):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._weekly = None

    async def _run(self, every: float) -> None:
        while True:
            try:
                await self.roll_up()
            except StoreError as exc:
                log.warning("reports: cannot roll up now: %s", exc)
            await asyncio.sleep(every)

    async def report(self, span: tuple[date, date], filters: Mapping[str, Any]) -> dict[str, Any]:
        """The report for the local days ``span`` (first, last) and filters (see
        ``figures.build_report``)."""
        query = dict(filters)
        if query.get("department") is not None:
            query["department_topics"] = [
                t for t, d in self.topics.items() if d == query["department"]
            ]
        rows = await self.store.report_rows(span[0].isoformat(), span[1].isoformat(), query)
        lists = [[dict(r) for r in part] for part in rows]
        agent_names = {a.id: a.name for a in await self.store.list_agents()}
        report = await self.pool.run(
            lambda: build_report(*lists, agent_names=agent_names, span=span)
        )
        # answered by articles: from the knowledge base's own records (a row per player shown
        # suggestions, few), for the whole range and the topics asked for
        zone = ZoneInfo(self.timezone)
        since = datetime.combine(span[0], datetime.min.time(), zone).timestamp()
        until = datetime.combine(span[1] + timedelta(days=1), datetime.min.time(), zone)
        kb = await self.store.kb_stats(since, misses=0, until=until.timestamp())
        topics = [query["topic"]] if query.get("topic") else query.get("department_topics")
        served = needed = 0
        for topic, counts in kb.outcomes.items():
            if topics is None or topic in topics:
                served += counts.get("self_served", 0)
                needed += counts.get("needed_agent", 0)
        report["totals"]["self_served"] = served
        report["totals"]["self_served_share"] = (
            round(served / (served + needed), 3) if served + needed else None
        )
        return report
