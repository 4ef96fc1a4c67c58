"""One node of a cluster: the hub, or an edge that tunnels to the hub.

Every node serves HTTP and WebSockets behind any load balancer; exactly one of them,
the **hub node**, runs the hub (queues, chats, agents, timers) — the one that holds
the database's claim (a PostgreSQL advisory lock, ``Store.claim``). The others are
**edge nodes**: their clients' sockets are tunnelled to the hub over Redis
(``tunnels.py``) and their HTTP requests are passed on to the hub node
(``proxy.py``). Each edge also waits for the claim: when the hub node dies, its
database connection ends, PostgreSQL lets go of the lock, one edge gets it, restores
every live chat from the store and becomes the hub. Clients whose sockets were on
the dead node, or tunnelled to it, reconnect (to any node) and resume with nothing
lost: every acknowledged message is in the store.

Heartbeats, every ``cluster_beat_seconds``: the hub announces itself (node id and
URL) on ``cluster:hub``; edges say they are alive on ``hub:in``. A hub not heard
from for 3.5 beats is presumed gone (edges close their tunnels: clients retry until
the new hub is up); an edge not heard from is dropped by the hub the same way.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

from ..bus import RedisBus
from ..config import Settings
from ..exceptions import ConfigError, StoreError
from ..hub import Hub
from ..security import new_id, new_token
from ..store import Store
from .proxy import forwarding_client
from .tunnels import HUB_IN, EdgeTunnels, HubTunnels, edge_topic, envelope, parse

__all__ = ["Node"]

log = logging.getLogger("chatserver.cluster")

HUB_BEAT = "cluster:hub"
_BEAT = "h"


class _Subscriber:
    __slots__ = ("push",)

    def __init__(self, push: Callable[[str], None]) -> None:
        self.push = push


class Node:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        start_hub: Callable[[], Awaitable[Hub]],
        on_fatal: Callable[[StoreError], None] | None = None,
        *,
        bus: RedisBus | None = None,
    ) -> None:
        if not settings.node_url and (settings.port == 0 or settings.host in ("0.0.0.0", "::")):
            raise ConfigError(
                "several nodes: set node_url (how the other nodes reach this one, "
                "http://10.0.0.5:8000) or listen on a fixed host and port"
            )
        self.settings = settings
        self.store = store
        self.url = (settings.node_url or f"http://{settings.host}:{settings.port}").rstrip("/")
        self.id = new_id("n_")
        self.bus = bus or RedisBus(settings.redis_url, node_id=self.id)
        self.role = "edge"
        self.hub_tunnels: HubTunnels | None = None
        self.edge = EdgeTunnels(self.id, self.bus, settings)
        self.edge.ready = lambda: self.hub_ready
        self.secret = ""
        # the hub node, as its heartbeats say
        self.hub_id: str | None = None
        self.hub_url: str | None = None
        self._hub_seen = 0.0
        self._start_hub = start_hub
        self._on_fatal = on_fatal
        self._beat = settings.cluster_beat_seconds
        self._dead_after = 3.5 * self._beat
        self._tasks: list[asyncio.Task[None]] = []
        self._side: set[asyncio.Task[None]] = set()
        self.http = forwarding_client()  # proxy.py

    @property
    def hub_ready(self) -> bool:
        """Can this node serve a client now (itself, or through a live hub)?"""
        if self.role != "edge":
            return self.role == "hub"
        return (
            self.bus.connected
            and self.hub_id is not None
            and time.monotonic() - self._hub_seen < self._dead_after
        )

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self.bus.on_lost.append(self._redis_lost)
        await self.bus.start()
        await self._share_secret()
        self.bus.on_resync.append(self._resynced)
        self.bus.subscribe(HUB_BEAT, _Subscriber(self._hub_beat))
        self.bus.subscribe(edge_topic(self.id), self.edge)
        loop = asyncio.get_running_loop()
        if await self.store.claim(0):
            await self._promote()
        else:
            log.info("node %s: an edge; another node runs the hub", self.id)
            self._tasks.append(loop.create_task(self._wait_for_claim(), name="chatserver-claim"))
        await self.bus.synced()
        if self.role == "edge":
            self.edge.alive()  # the hub answers a new edge with its heartbeat
        self._tasks.append(loop.create_task(self._beats(), name="chatserver-beats"))

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._side]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []
        if self.hub_tunnels is not None:
            await self.hub_tunnels.close_all("the chat service is restarting: reconnect")
        self.edge.drop_all("the chat service is restarting: reconnect")
        await self.bus.drain()
        await self.bus.stop()
        await self.http.aclose()

    async def _wait_for_claim(self) -> None:
        while True:
            try:
                await self.store.claim(math.inf)
                break
            except StoreError as exc:  # the database restarted, say: wait on, a bit later
                log.warning("node %s: waiting for the hub's claim failed (%s); again", self.id, exc)
                await asyncio.sleep(max(1.0, self._beat))
        try:
            await self._promote()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # holding the claim without a hub would stall everyone
            log.exception("node %s: could not take the hub over", self.id)
            if self._on_fatal is not None:
                self._on_fatal(exc if isinstance(exc, StoreError) else StoreError(str(exc)))

    async def _promote(self) -> None:
        """This node holds the claim: it runs the hub from now on."""
        log.info("node %s: running the hub (reachable at %s)", self.id, self.url)
        # while the hub restores, new clients are told to come back (1013, 503), and
        # tunnels to the old hub are closed
        self.role = "promoting"
        self.edge.drop_all("the chat service moved: reconnect")
        hub = await self._start_hub()
        self.hub_tunnels = HubTunnels(hub, self.bus, self._dead_after)
        self.hub_tunnels.on_new_edge = self._announce  # a starting edge learns of us at once
        self.bus.subscribe(HUB_IN, self.hub_tunnels)
        self.role = "hub"
        self.hub_id, self.hub_url = self.id, self.url
        self._announce()
        watch = asyncio.get_running_loop().create_task(self._watch_claim(), name="chatserver-claim")
        self._tasks.append(watch)

    async def _share_secret(self) -> None:
        """A secret every node shares, so the hub can trust what an edge says of a client.
        The first node to ask sets it; after a Redis restart (which lost it) every node
        offers its own again and all take whichever got there first."""
        key = self.bus.prefix + "secret"
        await self.bus.client.set(key, self.secret or new_token("cls_"), nx=True)
        secret = await self.bus.client.get(key)
        self.secret = secret.decode() if isinstance(secret, bytes) else str(secret)

    def _resynced(self) -> None:
        if self.secret:  # not the first connection: Redis may have restarted empty
            task = asyncio.get_running_loop().create_task(self._share_secret_again())
            self._side.add(task)
            task.add_done_callback(self._side.discard)

    async def _share_secret_again(self) -> None:
        try:
            await self._share_secret()
        except (RedisError, OSError) as exc:  # the bus will resync again, and so will we
            log.warning("node %s: could not share the cluster secret: %s", self.id, exc)

    # -- heartbeats ------------------------------------------------------------------

    def _announce(self) -> None:
        self.bus.publish(HUB_BEAT, envelope(_BEAT, self.id, self.url))

    async def _beats(self) -> None:
        while True:
            await asyncio.sleep(self._beat)
            if self.role == "hub":
                self._announce()
                assert self.hub_tunnels is not None
                self.hub_tunnels.sweep()
            elif self.role == "edge":
                self.edge.alive()
                self.edge.sweep()
                if self.hub_id is not None and not self.hub_ready and self.bus.connected:
                    log.warning("node %s: the hub node %s went silent", self.id, self.hub_id)
                    self.hub_id = self.hub_url = None
                    self.edge.drop_all("the chat service is moving: reconnect")

    async def _watch_claim(self) -> None:
        """The hub node checks it still holds the claim (apart from the heartbeats, which
        must not wait for the database)."""
        while await self.store.claim_held():
            await asyncio.sleep(self._beat)
        # another node may take the hub over any moment: stop serving at once
        exc = StoreError("lost the database claim; the hub must restart")
        log.error("node %s: %s", self.id, exc)
        if self._on_fatal is not None:
            self._on_fatal(exc)

    def _hub_beat(self, data: str) -> None:
        op, node, url = parse(data)
        if op != _BEAT or node == self.id:
            return
        if self.role == "hub":
            log.error("node %s: %s also says it runs the hub", self.id, node)
            return
        if node != self.hub_id:
            if self.hub_id is not None:
                self.edge.drop_all("the chat service moved: reconnect")
            log.info("node %s: the hub is node %s at %s", self.id, node, url)
            self.hub_id, self.hub_url = node, url
        self._hub_seen = time.monotonic()

    def _redis_lost(self) -> None:
        self.edge.drop_all("lost touch with the chat service: reconnect")
        if self.hub_tunnels is not None:
            self.hub_tunnels.drop_all()
        if self.role != "hub":
            self.hub_id = self.hub_url = None

    def describe(self) -> dict[str, object]:
        """For /readyz."""
        out: dict[str, object] = {"node": self.id, "role": self.role, "hub": self.hub_id}
        out["redis"] = "connected" if self.bus.connected else "reconnecting"
        if self.role == "edge":
            out["tunnels"] = len(self.edge.open)
        elif self.hub_tunnels is not None:
            out["edges"] = len(self.hub_tunnels.edges)
            out["tunnels"] = len(self.hub_tunnels.remotes)
        return out
