"""Group commit: one task applies every queued write op in as few transactions as it can.

Ops are applied strictly in submission order, and each op's callback runs after
the transaction holding it has committed, again in order. Ops submitted together
as a group (``submit_group``) always share one transaction: a chat's end and its
request, a file and its message, commit together or not at all. That is what lets the
hub acknowledge and relay a message only once it is stored, while thousands of
messages a second share a handful of fsyncs.

A transient failure (the file locked by a CLI command, say) is retried with
backoff. A failure that outlasts the retries is fatal: the writer stops taking
ops and reports it, so the server can stop and restart from what is committed
(crash-only: no acknowledged message depends on in-memory state).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from time import perf_counter

from ..core.stats import LATENCY_BOUNDS, Buckets
from ..exceptions import StoreError
from ..store import Op, Store

__all__ = ["Writer"]

log = logging.getLogger("chatserver.writer")

Callback = Callable[[], object] | None
_RETRY_DELAYS = (0.05, 0.25, 1.0)


class Writer:
    def __init__(
        self,
        store: Store,
        *,
        batch_max: int,
        on_fatal: Callable[[StoreError], None],
        hold: AbstractContextManager[None] | None = None,
    ) -> None:
        self.store = store
        # entered around each commit's callbacks (the hub holds its sockets' frames, so
        # that what one commit tells one client goes out in one write)
        self.hold = hold if hold is not None else nullcontext()
        self.batch_max = batch_max
        self.on_fatal = on_fatal
        self.failed: StoreError | None = None
        self.batches = 0
        self.ops_written = 0
        self.commit_seconds = Buckets(LATENCY_BOUNDS)  # each batch's store.apply, retries too
        self._groups: deque[tuple[list[Op], Callback]] = deque()
        self._pending = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._when_taken: list[Callable[[], object]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="chatserver-writer")

    def submit(self, op: Op, callback: Callback = None) -> None:
        """Queue ``op``; ``callback`` runs once it is committed. Raises StoreError if failed."""
        self.submit_group([op], callback)

    def submit_group(self, ops: list[Op], callback: Callback = None) -> None:
        """Queue ops that must commit in one transaction; ``callback`` runs after."""
        if self.failed is not None:
            raise self.failed
        self._groups.append((ops, callback))
        self._pending += len(ops)
        self._idle.clear()
        self._wake.set()

    def kick(self) -> None:
        """Wake the writer now, ahead of the ops about to be submitted: its wake-up then
        runs after the callbacks scheduled so far (asyncio runs them in order), so what
        those callbacks submit is committed in the same turn of the loop."""
        self._wake.set()

    @property
    def pending(self) -> int:
        return self._pending

    def when_taken(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once, when every op submitted so far is being committed or
        has been (at once if none waits to be taken)."""
        if self._pending == 0:
            callback()
        else:
            self._when_taken.append(callback)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._groups:
                # whole groups, up to batch_max ops (a bigger group still goes whole)
                ops: list[Op] = []
                cbs: list[Callback] = []
                while self._groups and (
                    not ops or len(ops) + len(self._groups[0][0]) <= self.batch_max
                ):
                    group, cb = self._groups.popleft()
                    ops.extend(group)
                    cbs.append(cb)
                self._pending -= len(ops)
                if not self._pending and self._when_taken:
                    self._taken()
                start = perf_counter()
                if not await self._apply(ops):
                    return
                self.commit_seconds.observe(perf_counter() - start)
                self.batches += 1
                self.ops_written += len(ops)
                with self.hold:
                    for cb in cbs:
                        if cb is not None:
                            try:
                                cb()
                            except Exception:  # one bad callback must not stop the writer
                                log.exception("commit callback failed")
            self._idle.set()

    def _taken(self) -> None:
        waiting, self._when_taken = self._when_taken, []
        for callback in waiting:
            try:
                callback()
            except Exception:
                log.exception("when_taken callback failed")

    async def _apply(self, ops: list[Op]) -> bool:
        for delay in (*_RETRY_DELAYS, None):
            try:
                await self.store.apply(ops)
                return True
            except StoreError as exc:
                if delay is None:
                    log.critical("store write failed for good: %s", exc)
                    self.failed = exc
                    self._groups.clear()
                    self._pending = 0
                    self._idle.set()
                    self._taken()
                    self.on_fatal(exc)
                    return False
                log.warning("store write failed, retrying in %.2fs: %s", delay, exc)
                await asyncio.sleep(delay)
        return False  # pragma: no cover - the loop always returns

    async def drain(self) -> None:
        """Wait until every submitted op has been committed (or the writer failed)."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Commit what is queued, then stop the task."""
        if self._task is None:
            return
        await self.drain()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None
