"""Reading the audit trail back: checking its chain and exporting it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from .audit import AuditEntry, Break, Chain

if TYPE_CHECKING:
    from ..store import Store

__all__ = ["as_json_line", "entries", "verify"]

BATCH = 2000


async def entries(store: Store, after_seq: int = 0) -> AsyncIterator[AuditEntry]:
    """Every kept entry in chain order, read in batches."""
    while True:
        batch = await store.audit_walk(after_seq, BATCH)
        for e in batch:
            yield e
        if len(batch) < BATCH:
            return
        after_seq = batch[-1].seq


async def verify(store: Store) -> tuple[int, list[Break]]:
    """(entries checked, every break found): a changed, removed or reordered entry, or a
    trail cut short at its end. Entries appended while it reads are left for the next run."""
    head = await store.audit_head()
    chain = Chain(head.first_seq, head.first_prev)
    batch: list[AuditEntry] = []
    async for e in entries(store, head.first_seq - 1):
        if e.seq > head.seq:
            break
        batch.append(e)
        if len(batch) >= BATCH:
            chain.feed(batch)
            batch = []
    chain.feed(batch)
    return chain.checked, chain.finish(head.seq, head.hash)


def as_json_line(e: AuditEntry) -> str:
    return json.dumps(e.public(), ensure_ascii=False, separators=(",", ":"))
