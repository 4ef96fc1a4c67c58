"""Tunnels: a client's socket on an edge node, served by the hub on the hub node.

Everything goes over the Redis bus as text envelopes ``<op>\\n<tunnel>\\n<payload>``
(the payload is the client's frame, untouched; the tunnel id is ``<edge node>/<n>``):

    edge -> hub, on "hub:in"          hub -> edge, on "edge:<node>"
    o  opened (payload: JSON meta)    f  a frame for the client
    f  a text frame from the client   c  close ("<code> <reason>")
    b  a binary frame
    d  the client is gone
    a  the edge is alive (tunnel = the edge's node id)

Heartbeats stay on the edge: it pings its clients on its own wheel (the open meta's
``pings`` tells the hub the interval, which the hub's ``welcome`` announces; the
wheel takes a client once the hub's first frame, the ``welcome``, went to it), takes
their ``pong`` and answers a client's own ``ping`` itself, and closes a client that
has been silent for ``idle_timeout_seconds``; the hub counts every tunnel of a live
edge as heard from at each of the edge's beats. So an idle widget costs the hub no
CPU at all.

Frames of one tunnel keep their order: each side publishes through one sender that
pipelines in order, and Redis delivers one connection's publishes in order. When
the bus loses Redis, frames may have been lost, so both sides drop every tunnel:
clients reconnect and resume from their last ``seq`` (acks are only ever sent for
stored messages, so nothing acknowledged is lost).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket

from ..bus import RedisBus
from ..config import Settings
from ..hub import Connection, Hub, serve_connection
from ..hub.connection import CLOSE_IDLE, client_connection
from ..hub.frames import PONG
from ..hub.heartbeats import Heartbeats, ping_interval
from ..protocol import heartbeat_kind

__all__ = ["EdgeTunnels", "HubTunnels", "envelope", "parse"]

log = logging.getLogger("chatserver.cluster")

HUB_IN = "hub:in"
OPEN, FRAME, BINARY, DOWN, CLOSE, ALIVE = "o", "f", "b", "d", "c", "a"
_MAX_QUEUED = 10_000  # frames from one client waiting for the hub before it is cut off

CLOSE_MOVED = 1012  # "service restart": the client reconnects (maybe elsewhere) and resumes
CLOSE_TRY_LATER = 1013


def envelope(op: str, tunnel: str, payload: str = "") -> str:
    return f"{op}\n{tunnel}\n{payload}"


def parse(data: str) -> tuple[str, str, str]:
    op, _, rest = data.partition("\n")
    tunnel, _, payload = rest.partition("\n")
    return op, tunnel, payload


def edge_topic(node_id: str) -> str:
    return f"edge:{node_id}"


class EdgeTunnels:
    """Edge side: client sockets whose hub is on another node."""

    def __init__(self, node_id: str, bus: RedisBus, settings: Settings) -> None:
        self.node_id = node_id
        self.bus = bus
        self.settings = settings
        self.open: dict[str, Connection] = {}
        self.heartbeats = Heartbeats(ping_interval(settings))  # the edge pings its clients
        self._ids = itertools.count(1)
        self.ready: Callable[[], bool] = lambda: False  # set by the node: is a hub there?

    def push(self, data: str) -> None:
        """An envelope from the hub for one of our clients."""
        op, tunnel, payload = parse(data)
        conn = self.open.get(tunnel)
        if conn is None:
            return
        if op == FRAME:
            conn.push(payload)
            self.heartbeats.add(conn)  # from the welcome on (a second add changes nothing)
        elif op == CLOSE:
            code, _, reason = payload.partition(" ")
            conn.close(int(code) if code.isdigit() else CLOSE_MOVED, reason)

    def alive(self) -> None:
        self.bus.publish(HUB_IN, envelope(ALIVE, self.node_id))

    async def serve(self, websocket: WebSocket, kind: str, peer: str, agent: int | None) -> None:
        await websocket.accept()
        if not self.ready():
            await websocket.close(CLOSE_TRY_LATER, "the chat service is starting: try again")
            return
        tunnel = f"{self.node_id}/{next(self._ids)}"
        # the edge's side: the bounded outbox, and the limits for the heartbeats it keeps
        conn = client_connection(websocket, kind, self.settings, time.time(), peer)
        self.open[tunnel] = conn
        self.heartbeats.start()
        meta = json.dumps(
            {"kind": kind, "peer": peer, "agent": agent, "pings": self.heartbeats.interval}
        )
        self.bus.publish(HUB_IN, envelope(OPEN, tunnel, meta))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if conn.close_code is not None:
                    continue
                text = message.get("text")
                now = time.time()
                conn.last_recv = now
                if text is None:
                    self.bus.publish(HUB_IN, envelope(BINARY, tunnel))
                    continue
                beat = heartbeat_kind(text)
                if beat is not None and not conn.bucket.take(now):
                    # over the limit it goes on, and the hub's limits apply
                    if beat == "ping":
                        conn.push(PONG)
                else:
                    self.bus.publish(HUB_IN, envelope(FRAME, tunnel, text))
        finally:
            self.open.pop(tunnel, None)
            self.heartbeats.discard(conn)
            conn.gone()
            self.bus.publish(HUB_IN, envelope(DOWN, tunnel))

    def sweep(self) -> None:
        """Close tunnels whose client has sent nothing (not even a ping) for too long."""
        cutoff = time.time() - self.settings.idle_timeout_seconds
        for conn in [c for c in self.open.values() if c.last_recv < cutoff]:
            conn.close(CLOSE_IDLE, "idle timeout: answer ping, or send one every 30 s")

    def drop_all(self, reason: str) -> None:
        """Close every tunnelled socket: its clients reconnect and resume."""
        if self.open:
            log.info("closing %d tunnelled connections: %s", len(self.open), reason)
        for conn in list(self.open.values()):
            conn.close(CLOSE_MOVED, reason)


class _RemoteSink:
    """The ``Sink`` of a hub-side connection: frames go back through the edge."""

    __slots__ = ("bus", "topic", "tunnel")

    def __init__(self, bus: RedisBus, tunnel: str) -> None:
        self.bus = bus
        self.topic = edge_topic(tunnel.split("/", 1)[0])
        self.tunnel = tunnel

    def push(self, data: str) -> None:
        self.bus.publish(self.topic, envelope(FRAME, self.tunnel, data))

    async def send_text(self, data: str) -> None:
        self.push(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.bus.publish(self.topic, envelope(CLOSE, self.tunnel, f"{code} {reason or ''}"))


class _Remote:
    __slots__ = ("conn", "edge", "queue", "task")

    def __init__(self, edge: str) -> None:
        self.edge = edge
        self.queue: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.conn: Connection | None = None


class HubTunnels:
    """Hub side: serves the clients of edge nodes as if they were connected here."""

    def __init__(self, hub: Hub, bus: RedisBus, dead_after: float) -> None:
        self.hub = hub
        self.bus = bus
        self.dead_after = dead_after
        self.remotes: dict[str, _Remote] = {}
        self.by_edge: dict[str, set[_Remote]] = {}
        self.edges: dict[str, float] = {}  # edge node -> when it was last heard from
        self.on_new_edge: Callable[[], None] | None = None

    def push(self, data: str) -> None:
        """An envelope from an edge."""
        op, tunnel, payload = parse(data)
        edge = tunnel.split("/", 1)[0]
        if edge not in self.edges and self.on_new_edge is not None:
            self.on_new_edge()
        self.edges[edge] = time.monotonic()
        if op == ALIVE:
            # the edge keeps its clients' heartbeats: all its tunnels are alive
            now = self.hub.clock()
            for alive in self.by_edge.get(edge, ()):
                if alive.conn is not None:
                    alive.conn.last_recv = now
            return
        if op == OPEN:
            self._open(tunnel, edge, payload)
            return
        remote = self.remotes.get(tunnel)
        if remote is None:
            if op in (FRAME, BINARY):  # a tunnel from before this hub: start it over
                self.bus.publish(
                    edge_topic(edge),
                    envelope(CLOSE, tunnel, f"{CLOSE_MOVED} the chat service moved: reconnect"),
                )
            return
        if op == DOWN:
            remote.queue.put_nowait(None)
        elif remote.queue.qsize() >= _MAX_QUEUED:
            log.warning("tunnel %s: %d frames waiting, dropping it", tunnel, _MAX_QUEUED)
            remote.queue.put_nowait(None)
        else:
            remote.queue.put_nowait(payload if op == FRAME else b"")

    def _open(self, tunnel: str, edge: str, payload: str) -> None:
        if tunnel in self.remotes:
            return
        try:
            meta: dict[str, Any] = json.loads(payload)
        except ValueError:
            return
        remote = self.remotes[tunnel] = _Remote(edge)
        self.by_edge.setdefault(edge, set()).add(remote)
        remote.task = asyncio.get_running_loop().create_task(
            self._serve(tunnel, remote, meta), name=f"chatserver-tunnel-{tunnel}"
        )

    async def _serve(self, tunnel: str, remote: _Remote, meta: dict[str, Any]) -> None:
        hub = self.hub
        try:
            kind = "agent" if meta.get("kind") == "agent" else "player"
            agent_id = meta.get("agent")
            preauth = await hub.store.agent(agent_id) if isinstance(agent_id, int) else None
            sink = _RemoteSink(self.bus, tunnel)
            conn = hub.connect(sink, kind, str(meta.get("peer") or ""))
            conn.relay = sink.push
            conn.preauth = preauth
            pings = meta.get("pings")
            if isinstance(pings, int | float) and pings > 0:  # (an edge that pings)
                conn.edge_pings = float(pings)
            remote.conn = conn
            await serve_connection(hub, conn, remote.queue.get)
        except Exception:  # one client's tunnel must never take the node down
            log.exception("tunnel %s failed", tunnel)
            self.bus.publish(
                edge_topic(remote.edge),
                envelope(CLOSE, tunnel, "1011 the chat service failed on this connection"),
            )
        finally:
            self.remotes.pop(tunnel, None)
            mine = self.by_edge.get(remote.edge)
            if mine is not None:
                mine.discard(remote)
                if not mine:
                    del self.by_edge[remote.edge]

    def sweep(self) -> None:
        """Edges not heard from lately are dead: their clients will reconnect elsewhere."""
        cutoff = time.monotonic() - self.dead_after
        dead = {edge for edge, seen in self.edges.items() if seen < cutoff}
        if not dead:
            return
        for edge in dead:
            del self.edges[edge]
            log.warning("edge node %s went silent: dropping its connections", edge)
        for remote in self.remotes.values():
            if remote.edge in dead:
                remote.queue.put_nowait(None)

    def drop_all(self) -> None:
        """Redis was lost: any tunnel may have lost frames; their clients start over."""
        for remote in self.remotes.values():
            remote.queue.put_nowait(None)
        self.edges.clear()

    async def close_all(self, reason: str, timeout: float = 5.0) -> None:
        """The hub is stopping: tell every tunnelled client to reconnect, and wait."""
        for tunnel, remote in list(self.remotes.items()):
            self.bus.publish(edge_topic(remote.edge), envelope(CLOSE, tunnel, f"1012 {reason}"))
            remote.queue.put_nowait(None)
        tasks = [r.task for r in self.remotes.values() if r.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
