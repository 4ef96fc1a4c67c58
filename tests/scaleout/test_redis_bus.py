"""RedisBus: two buses on one real redis-server stand for two nodes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

from chatserver.bus import RedisBus
from tests.redis_server import RedisServer
from tests.support import t


class Inbox:
    """A subscriber that keeps what it is pushed, and can wait for a count."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self._changed = asyncio.Event()

    def push(self, data: str) -> None:
        self.frames.append(data)
        self._changed.set()

    async def wait_for(self, n: int) -> list[str]:
        async with asyncio.timeout(t(5)):
            while len(self.frames) < n:
                self._changed.clear()
                await self._changed.wait()
        return self.frames


@asynccontextmanager
async def nodes(url: str, n: int = 2) -> AsyncIterator[list[RedisBus]]:
    async with AsyncExitStack() as stack:
        buses = []
        for i in range(n):
            bus = RedisBus(url, node_id=f"node-{i}", max_backoff=0.5)
            await bus.start(timeout=t(5))
            stack.push_async_callback(bus.stop)
            buses.append(bus)
        yield buses


async def test_a_frame_published_on_one_node_reaches_subscribers_on_the_other(
    redis: RedisServer,
) -> None:
    async with nodes(redis.url) as (a, b):
        here, there, author = Inbox(), Inbox(), Inbox()
        a.subscribe("chat:c1", here)
        a.subscribe("chat:c1", author)
        b.subscribe("chat:c1", there)
        # both nodes publish to the other here, so both must hold their subscriptions
        await a.synced(t(5))
        await b.synced(t(5))
        assert a.publish("chat:c1", '{"n":1}', exclude=author) == 1
        assert await there.wait_for(1) == ['{"n":1}']
        # A's own subscriber got it once, synchronously; its own echo from Redis is dropped
        b.publish("chat:c1", '{"n":2}')
        assert await here.wait_for(2) == ['{"n":1}', '{"n":2}']
        assert author.frames == ['{"n":2}']
        assert there.frames == ['{"n":1}', '{"n":2}']
        assert a.received == 1 and b.received == 1


async def test_frames_keep_their_order_and_stop_after_unsubscribe(redis: RedisServer) -> None:
    async with nodes(redis.url) as (a, b):
        inbox, other = Inbox(), Inbox()
        b.subscribe("agent:7", inbox)
        b.subscribe("agent:8", other)
        await b.synced(t(5))
        for i in range(2000):
            a.publish("agent:7", str(i))
        assert await inbox.wait_for(2000) == [str(i) for i in range(2000)]
        assert other.frames == []  # another topic hears nothing
        b.unsubscribe("agent:7", inbox)
        await b.synced(t(5))
        a.publish("agent:7", "late")
        a.publish("agent:8", "marker")
        await other.wait_for(1)  # published after "late": once it is here, "late" was not sent
        assert inbox.frames[-1] == "1999"


async def test_a_redis_restart_is_survived(redis: RedisServer) -> None:
    """Publishing during the outage does not fail; afterwards both nodes resubscribe."""
    async with nodes(redis.url) as (a, b):
        resynced: dict[str, asyncio.Event] = {"a": asyncio.Event(), "b": asyncio.Event()}
        a.on_resync.append(resynced["a"].set)
        b.on_resync.append(resynced["b"].set)
        here, there = Inbox(), Inbox()
        a.subscribe("session:s1", here)
        b.subscribe("session:s1", there)
        await b.synced(t(5))
        a.publish("session:s1", "before")
        await there.wait_for(1)

        redis.kill()
        await _until(lambda: not a.connected and not b.connected)
        assert a.publish("session:s1", "during") == 1  # local delivery goes on
        assert here.frames == ["before", "during"]
        assert a.dropped >= 1

        await redis.start()  # same port, empty
        await asyncio.wait_for(resynced["a"].wait(), t(10))
        await asyncio.wait_for(resynced["b"].wait(), t(10))
        await b.synced(t(5))
        assert a.reconnects == 1 and b.reconnects == 1
        a.publish("session:s1", "after")
        assert await there.wait_for(2) == ["before", "after"]


async def test_start_fails_clearly_without_redis(redis: RedisServer) -> None:
    url = redis.url
    redis.kill()
    bus = RedisBus(url)
    try:
        await bus.start(timeout=t(1))
    except ConnectionError as exc:
        assert "cannot reach Redis at redis://127.0.0.1:" in str(exc)
    else:  # pragma: no cover - the failure this test is for
        raise AssertionError("start() succeeded without Redis")


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(t(10)):
        while not condition():
            await asyncio.sleep(0.01)  # polling a condition, with a deadline
