"""Retention: what is kept only so long after its request closes (docs/privacy.md,
"Retention").

Per kind, ``retention_<kind>_days`` (0: keep for ever). A request counts as closed from its
last change once it is ``resolved`` or ``closed``. The hub node runs a purge every
``retention_run_seconds``, in batches of ``BATCH`` chats or rows, each its own short
transaction, yielding to the event loop between them; files are deleted on the ``files``
pool. ``chatserver purge --dry-run`` counts what a purge would remove.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..exceptions import StoreError
from ..files import delete_files

if TYPE_CHECKING:
    from ..config import Settings
    from ..files import FileStore
    from ..store import Store

__all__ = ["BATCH", "KINDS", "Retention", "policy_of"]

log = logging.getLogger("chatserver.retention")

BATCH = 200
KINDS = ("attachments", "messages", "notes", "refusals", "deliveries", "notifications", "audit")
_DAY = 86400.0
_LINK_GRACE_DAYS = 0.0  # expired player links go at the next run


def policy_of(settings: Settings) -> dict[str, float]:
    """Days to keep each kind (0: for ever)."""
    out = {kind: float(getattr(settings, f"retention_{kind}_days")) for kind in KINDS}
    out["links"] = _LINK_GRACE_DAYS
    return out


class Retention:
    def __init__(
        self,
        store: Store,
        files: FileStore | None,
        policy: dict[str, float],
        *,
        clock: Callable[[], float],
        run: Callable[..., Awaitable[Any]] = asyncio.to_thread,
    ) -> None:
        self.store = store
        self.files = files
        self.policy = policy
        self.clock = clock
        self.run = run
        self.removed = dict.fromkeys((*KINDS, "links"), 0)  # since start, for /metrics
        self._task: asyncio.Task[None] | None = None

    async def run_once(self, *, dry_run: bool = False) -> dict[str, int]:
        """One purge of every kind with a limit (with ``dry_run``: only counts)."""
        now = self.clock()
        out: dict[str, int] = {}
        for kind, days in self.policy.items():
            if days <= 0 and kind != "links":
                continue
            before = now - days * _DAY
            if dry_run:
                got = await self.store.purge_batch(kind, before, BATCH, dry_run=True)
                out[kind] = sum(got.counts().values()) - got.chats
                continue
            total = 0
            while True:
                got = await self.store.purge_batch(kind, before, BATCH)
                if got.file_keys and self.files is not None:
                    await self.run(delete_files, self.files, got.file_keys)
                n = sum(v for k, v in got.counts().items() if k != "chats")
                total += n
                if not got.chats and not n:
                    break
                await asyncio.sleep(0)  # let the event loop serve others between batches
            out[kind] = total
            self.removed[kind] += total
        if not dry_run and any(out.values()):
            await self.store.scrub()
            log.info("retention purge removed %s", out)
        return out

    def start(self, every_seconds: float) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(every_seconds)
                try:
                    await self.run_once()
                except StoreError as exc:  # the next run tries again
                    log.warning("retention purge failed: %s", exc)

        self._task = asyncio.get_running_loop().create_task(loop(), name="chatserver-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
