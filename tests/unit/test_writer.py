"""The group-commit writer: batching, order of callbacks, retries, and failing for good."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from chatserver.exceptions import StoreError
from chatserver.hub.writer import Writer
from chatserver.store import CreateSession, Op


class FakeStore:
    """Records batches; fails the first ``fail`` applies; blocks while ``gate`` is clear."""

    def __init__(self, fail: int = 0) -> None:
        self.batches: list[list[Op]] = []
        self.fail = fail
        self.gate = asyncio.Event()
        self.gate.set()

    async def apply(self, ops: Sequence[Op]) -> None:
        await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise StoreError("disk on fire")
        self.batches.append(list(ops))


def op(i: int) -> CreateSession:
    return CreateSession(f"s{i}", b"h", 0.0, None)


async def test_ops_queued_during_a_commit_share_the_next_batch() -> None:
    """While one transaction runs, new ops pile up and go in together, callbacks in order."""
    store = FakeStore()
    writer = Writer(store, batch_max=100, on_fatal=lambda exc: None)  # type: ignore[arg-type]
    writer.start()
    done: list[int] = []
    store.gate.clear()
    writer.submit(op(0), lambda: done.append(0))
    await asyncio.sleep(0)  # let the writer take op 0 and block in apply
    for i in range(1, 6):
        writer.submit(op(i), lambda i=i: done.append(i))  # type: ignore[misc]
    store.gate.set()
    await writer.drain()
    assert [len(b) for b in store.batches] == [1, 5]
    assert done == [0, 1, 2, 3, 4, 5]
    assert (writer.batches, writer.ops_written) == (2, 6)
    await writer.stop()


async def test_transient_failures_are_retried() -> None:
    """A store error that goes away is retried; nothing is lost or reordered."""
    store = FakeStore(fail=2)
    fatal: list[StoreError] = []
    writer = Writer(store, batch_max=10, on_fatal=fatal.append)  # type: ignore[arg-type]
    writer.start()
    done: list[int] = []
    writer.submit(op(1), lambda: done.append(1))
    await writer.drain()
    assert done == [1] and fatal == [] and len(store.batches) == 1
    await writer.stop()


async def test_persistent_failure_is_fatal() -> None:
    """After the retries the writer reports the failure, runs no callback and refuses more."""
    store = FakeStore(fail=99)
    fatal: list[StoreError] = []
    writer = Writer(store, batch_max=10, on_fatal=fatal.append)  # type: ignore[arg-type]
    writer.start()
    done: list[int] = []
    writer.submit(op(1), lambda: done.append(1))
    await asyncio.wait_for(writer.drain(), 10)
    assert done == [] and len(fatal) == 1 and writer.failed is fatal[0]
    with pytest.raises(StoreError):
        writer.submit(op(2))
    await writer.stop()


async def test_callbacks_run_inside_hold() -> None:
    """Each batch's callbacks run inside ``hold`` (the hub's Held: one write per socket)."""

    class Hold:
        def __init__(self) -> None:
            self.inside = False
            self.entered = 0

        def __enter__(self) -> None:
            self.inside = True
            self.entered += 1

        def __exit__(self, *exc: object) -> None:
            self.inside = False

    hold = Hold()
    writer = Writer(FakeStore(), batch_max=10, on_fatal=lambda exc: None, hold=hold)  # type: ignore[arg-type]
    writer.start()
    seen: list[bool] = []
    for i in range(3):
        writer.submit(op(i), lambda: seen.append(hold.inside))
    await writer.drain()
    assert seen == [True, True, True] and hold.entered == 1 and not hold.inside
    await writer.stop()


async def test_when_taken_is_called_once_the_ops_so_far_are_taken() -> None:
    """``when_taken`` waits until the writer has taken every op submitted before it (the
    commit may still be running), and is called at once when none waits."""
    store = FakeStore()
    writer = Writer(store, batch_max=10, on_fatal=lambda exc: None)  # type: ignore[arg-type]
    writer.start()
    called: list[str] = []
    writer.when_taken(lambda: called.append("now"))
    assert called == ["now"]
    store.gate.clear()
    writer.submit(op(0))
    writer.when_taken(lambda: called.append("taken"))
    assert called == ["now"]
    async with asyncio.timeout(5):
        while writer.pending:
            await asyncio.sleep(0)
    assert called == ["now", "taken"] and not store.batches  # taken, not yet committed
    store.gate.set()
    await writer.drain()
    await writer.stop()
