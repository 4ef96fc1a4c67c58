"""A direct socket's frames: handled at once when they can be, strictly in order always."""

from __future__ import annotations

import asyncio
from typing import Any

from chatserver.core.limits import TokenBucket
from chatserver.hub.connection import Connection
from chatserver.hub.serve import FEED_LIMIT, Feed


class Sock:
    def __init__(self) -> None:
        self.paused = 0
        self.resumed = 0

    def pause_reading(self) -> None:
        self.paused += 1

    def resume_reading(self) -> None:
        self.resumed += 1


class Sink:
    async def send_text(self, data: str) -> None:
        pass

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        pass


def feed_with(handled: list[str], gate: asyncio.Event) -> tuple[Feed, Sock]:
    """A Feed whose handler waits on ``gate`` for frames starting with "wait"."""
    c = Connection(Sink(), "player", bucket=TokenBucket(1, 1, 1), outbox_limit=10, now=0.0)
    sock = Sock()
    feed = Feed(None, c, sock)  # type: ignore[arg-type]

    def handle(hub: Any, conn: Connection, text: str) -> Any:
        if not text.startswith("wait"):
            handled.append(text)
            return None

        async def later() -> None:
            await gate.wait()
            handled.append(text)

        return later()

    feed.handle = handle
    return feed, sock


async def test_frames_that_need_no_waiting_are_handled_in_the_call() -> None:
    handled: list[str] = []
    feed, _ = feed_with(handled, asyncio.Event())
    feed("a")
    feed("b")
    assert handled == ["a", "b"] and feed.task is None


async def test_frames_behind_a_waiting_one_keep_their_order_and_push_back() -> None:
    """A frame that waits (hello reading the store) holds the ones after it; past
    FEED_LIMIT of them the socket stops reading, and starts again as they drain."""
    handled: list[str] = []
    gate = asyncio.Event()
    feed, sock = feed_with(handled, gate)
    feed("first")
    feed("wait-1")
    frames = [f"m{i}" for i in range(FEED_LIMIT + 5)]
    for f in frames[:10]:
        feed(f)
    feed("wait-2")
    for f in frames[10:]:
        feed(f)
    assert handled == ["first"] and feed.task is not None
    assert sock.paused == 1 and sock.resumed == 0
    gate.set()
    async with asyncio.timeout(5):
        await feed.finish()
    assert handled == ["first", "wait-1", *frames[:10], "wait-2", *frames[10:]]
    assert sock.resumed == 1 and feed.task is None
    feed("after")
    assert handled[-1] == "after"


async def test_a_handler_that_fails_closes_only_its_connection() -> None:
    c = Connection(Sink(), "player", bucket=TokenBucket(1, 1, 1), outbox_limit=10, now=0.0)
    feed = Feed(None, c, Sock())  # type: ignore[arg-type]

    def broken(hub: Any, conn: Connection, text: str) -> Any:
        raise RuntimeError("bug")

    feed.handle = broken
    feed("x")
    assert c.close_code == (1011, "internal error")
