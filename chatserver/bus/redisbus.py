"""RedisBus: the in-process bus, plus Redis pub/sub to every other node.

Why pub/sub and not streams: what travels on the bus is live frames about things
already committed to the store (a message is acknowledged and published only after
its commit). Durability is the store's job, and a client that missed a frame -
because its node lost Redis for a moment, say - gets it again by resuming from its
last ``seq``. Streams would keep a second copy of every message in Redis and make
each node track a read position; pub/sub costs nothing per message once delivered
and adds the least latency to the extra hop.

Delivery: ``publish`` delivers to this node's subscribers at once (synchronously,
like ``LocalBus``) and queues the frame for Redis; a sender task writes everything
queued meanwhile in one pipeline, in order. Each node subscribes to the Redis channel
of a topic while it has a local subscriber, and drops frames it published itself.

Outages: when Redis goes away, both tasks retry with growing delays (0.1 s doubling
to ``max_backoff``, with jitter); frames published meanwhile are counted in
``dropped`` and not sent (clients resume from the store). On reconnection the
listener subscribes again to every topic it needs, and ``on_resync`` callbacks run so
the hub can tell its clients to catch up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..security import new_id, safe_url
from .base import Subscriber
from .local import LocalBus

__all__ = ["RedisBus", "redis_client"]

log = logging.getLogger("chatserver.bus")

_POLL = 0.02  # how long the listener waits for a frame before it looks at (un)subscriptions
_SEP = "\n"


def redis_client(url: str, *, retries: int = 3) -> aioredis.Redis:
    """A client for ``url`` that retries a command a few times on a dropped connection
    (a pooled connection from before a Redis restart fails on first use)."""
    return aioredis.from_url(
        url,
        socket_connect_timeout=2,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, OSError],
    )


class RedisBus:
    def __init__(
        self,
        url: str,
        *,
        node_id: str | None = None,
        prefix: str = "chatserver:",
        max_backoff: float = 5.0,
        max_pending: int = 100_000,
    ) -> None:
        self.url = url
        self.node_id = node_id or new_id("n_")
        self.prefix = prefix
        self.max_backoff = max_backoff
        self.max_pending = max_pending
        self.local = LocalBus()
        self.on_resync: list[Callable[[], None]] = []  # Redis is back: catch up
        self.on_lost: list[Callable[[], None]] = []  # frames may have been lost: start over
        self.connected = False
        self.reconnects = 0  # successful reconnections after a loss
        self.dropped = 0  # frames not sent to other nodes while Redis was away
        self.received = 0  # frames from other nodes delivered here
        self._tag = self.node_id + _SEP
        self._wanted: set[str] = set()  # channels with a local subscriber
        self._subscribed: set[str] = set()  # channels the Redis connection is subscribed to
        self._pending: deque[tuple[str, str]] = deque()
        self._has_pending = asyncio.Event()
        self._client: aioredis.Redis | None = None
        self._sub_client: aioredis.Redis | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = asyncio.Event()
        self._synced = asyncio.Event()  # set while Redis has every subscription we need
        self._sync_mark = 0
        self._reset = False  # the sender failed: the listener reconnects too
        self._sending = False
        self._drained = asyncio.Event()  # set each time the sender has written a batch

    # -- the Bus interface -------------------------------------------------------

    def subscribe(self, topic: str, sub: Subscriber) -> None:
        self.local.subscribe(topic, sub)
        channel = self.prefix + topic
        if channel not in self._wanted:
            self._wanted.add(channel)
            self._synced.clear()

    def unsubscribe(self, topic: str, sub: Subscriber) -> None:
        self.local.unsubscribe(topic, sub)
        if not self.local.has(topic) and self.prefix + topic in self._wanted:
            self._wanted.discard(self.prefix + topic)
            self._synced.clear()

    def publish(self, topic: str, data: str, *, exclude: Subscriber | None = None) -> int:
        n = self.local.publish(topic, data, exclude=exclude)
        if not self.connected:
            self.dropped += 1
            return n
        if len(self._pending) >= self.max_pending:
            # Redis is not keeping up: dropping frames quietly would leave clients with
            # holes, so treat it as a lost connection (clients start over and resume)
            self._lost(OverflowError(f"{len(self._pending)} frames waiting for Redis"))
            self.dropped += 1
            return n
        self._pending.append((self.prefix + topic, self._tag + data))
        self._has_pending.set()
        return n

    # -- lifecycle -----------------------------------------------------------------

    async def start(self, timeout: float = 10.0) -> None:
        """Connect and start the listener and the sender; waits for the first connection."""
        self._client = redis_client(self.url)
        # the listener must see every disconnection (frames published meanwhile are gone),
        # so its client never reconnects behind our back
        self._sub_client = redis_client(self.url, retries=0)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen(), name="chatserver-bus-listen"),
            loop.create_task(self._send(), name="chatserver-bus-send"),
        ]
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            await self.stop()
            raise ConnectionError(f"cannot reach Redis at {safe_url(self.url)}") from None

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for client in (self._client, self._sub_client):
            if client is not None:
                await client.aclose()
        self._client = self._sub_client = None
        self.connected = False

    @property
    def client(self) -> aioredis.Redis:
        """The Redis client (for the few plain commands a node needs)."""
        assert self._client is not None, "bus not started"
        return self._client

    async def drain(self, timeout: float = 2.0) -> None:
        """Wait (briefly) until what was published so far has gone to Redis."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while (self._pending or self._sending) and self.connected:
                    self._drained.clear()
                    await self._drained.wait()

    async def synced(self, timeout: float = 5.0) -> None:
        """Wait until Redis has this node's current subscriptions (frames published
        elsewhere from then on reach it)."""
        await asyncio.wait_for(self._synced.wait(), timeout)

    # -- the two tasks ---------------------------------------------------------------

    async def _listen(self) -> None:
        backoff = 0.1
        first = True
        while True:
            assert self._sub_client is not None
            pubsub = self._sub_client.pubsub(ignore_subscribe_messages=True)
            try:
                self._subscribed = set()
                self._sync_mark += 1
                await pubsub.ping(str(self._sync_mark))  # connects, or raises
                await self._sync(pubsub)
                if not first:
                    self.reconnects += 1
                    log.warning("bus: Redis is back; resubscribed to %d topics", len(self._wanted))
                first = False
                self.connected = True
                self._ready.set()
                backoff = 0.1
                for callback in list(self.on_resync):
                    callback()
                while True:
                    if self._reset:
                        raise RedisConnectionError("publishing failed")
                    await self._sync(pubsub)
                    msg = await pubsub.get_message(timeout=_POLL)
                    if msg is not None:
                        self._deliver(msg)
            except asyncio.CancelledError:
                await _quietly(pubsub.aclose())  # type: ignore[no-untyped-call, unused-ignore]
                raise
            except (RedisError, OSError) as exc:
                self._lost(exc)
                self._reset = False
                await _quietly(pubsub.aclose())  # type: ignore[no-untyped-call, unused-ignore]
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, self.max_backoff)

    def _lost(self, exc: BaseException) -> None:
        """Redis went away (or a publish failed): frames may be missing from here on."""
        if not self.connected:
            return
        log.warning("bus: lost Redis (%s); retrying", exc)
        self.connected = False
        self._reset = True
        self._synced.clear()
        self.dropped += len(self._pending)
        self._pending.clear()
        for callback in list(self.on_lost):
            callback()

    async def _sync(self, pubsub: Any) -> None:
        """Subscribe to channels newly needed, unsubscribe from those no longer needed."""
        if self._wanted == self._subscribed:
            return
        wanted = set(self._wanted)
        new = wanted - self._subscribed
        gone = self._subscribed - wanted
        if new:
            await pubsub.subscribe(*new)
            self._subscribed |= new
        if gone:
            await pubsub.unsubscribe(*gone)
            self._subscribed -= gone
        # Redis answers in order: once this PING's answer is back, the subscriptions hold
        self._sync_mark += 1
        await pubsub.ping(str(self._sync_mark))

    def _deliver(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "pong":
            data = msg.get("data")
            mark = data.decode() if isinstance(data, bytes) else str(data)
            if mark == str(self._sync_mark) and self._wanted == self._subscribed:
                self._synced.set()
            return
        if kind != "message":
            return
        raw: bytes = msg["data"]
        text = raw.decode()
        if text.startswith(self._tag):
            return  # ours: delivered locally when it was published
        channel: bytes = msg["channel"]
        _, _, data = text.partition(_SEP)
        self.received += 1
        try:
            self.local.publish(channel.decode()[len(self.prefix) :], data)
        except Exception:  # one subscriber's bug must not stop the bus for everyone
            log.exception("bus: a subscriber failed on a frame from %s", channel)

    async def _send(self) -> None:
        backoff = 0.1
        while True:
            await self._has_pending.wait()
            self._has_pending.clear()
            if not self._pending:
                continue
            assert self._client is not None
            batch = list(self._pending)
            self._pending.clear()
            self._sending = True
            try:
                try:
                    await self._publish(batch)
                except (RedisError, OSError):
                    # a pooled connection from before a Redis restart fails at once; the
                    # second try opens a new one
                    await self._publish(batch)
                backoff = 0.1
                self._sending = False
                self._drained.set()
            except (RedisError, OSError) as exc:
                self.dropped += len(batch)
                log.warning("bus: could not publish %d frames (%s)", len(batch), exc)
                self._lost(exc)
                self._sending = False
                self._drained.set()
                await asyncio.sleep(backoff * (0.5 + random.random()))
                backoff = min(backoff * 2, self.max_backoff)

    async def _publish(self, batch: list[tuple[str, str]]) -> None:
        assert self._client is not None
        async with self._client.pipeline(transaction=False) as pipe:
            for channel, data in batch:
                pipe.publish(channel, data)
            await pipe.execute()


async def _quietly(work: Any) -> None:
    try:
        await work
    except (RedisError, OSError):
        pass
