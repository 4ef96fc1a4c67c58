"""A connection's outbox: order, closing after what is queued, and slow readers."""

from __future__ import annotations

import asyncio

from chatserver.core.limits import TokenBucket
from chatserver.hub.connection import CLOSE_SLOW, Connection, Held


class Sink:
    """Stands in for the socket; ``send_text`` blocks while ``open`` is clear."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed: tuple[int, str | None] | None = None
        self.open = asyncio.Event()
        self.open.set()
        self.done = asyncio.Event()

    async def send_text(self, data: str) -> None:
        await self.open.wait()
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = (code, reason)
        self.done.set()


def conn(sink: Sink, limit: int = 100, held: Held | None = None) -> Connection:
    return Connection(
        sink, "player", bucket=TokenBucket(1, 1, 1), outbox_limit=limit, now=0.0, held=held
    )


async def test_frames_go_out_in_order_then_close() -> None:
    """Everything queued before close() is sent, in order, then the socket closes."""
    sink = Sink()
    c = conn(sink)
    for i in range(5):
        c.push(str(i))
    c.close(1000, "bye")
    c.push("after close")  # ignored
    await asyncio.wait_for(sink.done.wait(), 5)
    assert sink.sent == ["0", "1", "2", "3", "4"] and sink.closed == (1000, "bye")


async def test_slow_reader_is_disconnected_not_buffered_forever() -> None:
    """When the outbox reaches its bound the frames are dropped and the socket closes (1013)."""
    sink = Sink()
    sink.open.clear()  # the client stops reading
    c = conn(sink, limit=3)
    for i in range(10):
        c.push(str(i))
    assert len(c.outbox) == 0 and c.close_code is not None and c.close_code[0] == CLOSE_SLOW
    sink.open.set()
    await asyncio.wait_for(sink.done.wait(), 5)
    assert sink.closed is not None and sink.closed[0] == CLOSE_SLOW
    assert sink.sent == []  # the pushes overflowed before the sender ever ran


async def test_a_dead_peer_marks_the_connection_closed() -> None:
    """An error while sending means the peer is gone: stop sending, drop the rest."""

    class Broken(Sink):
        async def send_text(self, data: str) -> None:
            raise ConnectionResetError

    c = conn(Broken())
    c.push("x")
    c.push("y")
    assert c.sender is not None
    await c.sender
    assert c.closed and not c.outbox
    c.push("z")
    assert not c.outbox


class Direct:
    """Stands in for chatserver.web.direct's socket: writes at once while ``ready``."""

    def __init__(self) -> None:
        self.ready = True
        self.written: list[str] = []
        self.writes: list[list[str]] = []  # one entry per write to the transport

    def can_write(self) -> bool:
        return self.ready

    def write_text(self, data: str) -> None:
        self.write_texts([data])

    def write_texts(self, frames: list[str]) -> None:
        self.written.extend(frames)
        self.writes.append(list(frames))


async def test_a_direct_socket_is_written_at_once_and_queues_behind_a_full_buffer() -> None:
    """With room in the socket's buffer a frame is written in the same call, no task;
    once the buffer is full frames wait in the outbox, and later ones queue behind them
    (never overtake) until the outbox has been sent."""
    sink, direct = Sink(), Direct()
    c = conn(sink)
    c.direct = direct  # type: ignore[assignment]
    c.push("a")
    assert direct.written == ["a"] and c.sender is None and not c.outbox
    direct.ready = False
    sink.open.clear()
    c.push("b")
    direct.ready = True  # room again, but "b" is still queued: "c" must wait behind it
    c.push("c")
    assert direct.written == ["a"] and list(c.outbox) == ["b", "c"]
    sink.open.set()
    async with asyncio.timeout(5):
        while c.sender is not None:
            await asyncio.sleep(0.01)
    assert sink.sent == ["b", "c"]
    c.push("d")
    assert direct.written == ["a", "d"]


async def test_held_frames_go_out_in_one_write_per_connection_in_order() -> None:
    """While held, each direct socket's frames wait and go out together at the release,
    in the order pushed; a connection gone meanwhile gets nothing; not held, at once."""
    held = Held()
    (a, da), (b, db), (gone, dg) = [(conn(Sink(), held=held), Direct()) for _ in range(3)]
    for c, d in ((a, da), (b, db), (gone, dg)):
        c.direct = d  # type: ignore[assignment]
    with held:
        a.push("a1")
        b.push("b1")
        with held:  # nested: only the outermost release writes
            a.push("a2")
        gone.push("g1")
        gone.gone()
        a.push("a3")
        assert da.writes == db.writes == []
    assert da.writes == [["a1", "a2", "a3"]] and db.writes == [["b1"]] and dg.writes == []
    assert not held.conns and not a.holding
    a.push("a4")
    assert da.writes[-1] == ["a4"]


async def test_held_frames_for_a_full_socket_queue_in_the_outbox() -> None:
    """A socket whose buffer filled up before the release gets its held frames through
    the outbox, still in order, ahead of anything pushed after."""
    held, sink, direct = Held(), Sink(), Direct()
    c = conn(sink, held=held)
    c.direct = direct  # type: ignore[assignment]
    with held:
        c.push("a")
        c.push("b")
        direct.ready = False
    c.push("c")
    assert direct.written == [] and list(c.outbox) == ["a", "b", "c"]
    async with asyncio.timeout(5):
        while c.sender is not None:
            await asyncio.sleep(0.01)
    assert sink.sent == ["a", "b", "c"]


async def test_a_socket_that_fails_at_the_release_does_not_keep_the_others_frames() -> None:
    """An error writing one connection's held frames is logged; the rest still go out."""

    class Failing(Direct):
        def write_texts(self, frames: list[str]) -> None:
            raise RuntimeError("transport closed under us")

    held = Held()
    bad, good = conn(Sink(), held=held), conn(Sink(), held=held)
    bad.direct, good.direct = Failing(), Direct()  # type: ignore[assignment]
    with held:
        bad.push("x")
        good.push("y")
    assert good.direct.writes == [["y"]]  # type: ignore[union-attr]
    assert not held.conns and held.depth == 0
