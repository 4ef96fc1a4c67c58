"""One live WebSocket: a bounded outbox, drained by a task that exists only while needed.

The hub never awaits a client. It ``push``es encoded frames; a per-connection
task sends them in order. If a client reads so slowly that ``outbox_limit``
frames pile up, the connection is closed with 1013 (try again later): the client
reconnects and resumes from its last seq, so a slow reader loses nothing and
cannot make the server hold unbounded memory for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..core.limits import TokenBucket
from ..exceptions import ClientError
from ..protocol import encode, error_frame

if TYPE_CHECKING:
    from ..config import Settings
    from ..store import AgentRecord
    from .state import AgentPresence, PlayerSession

__all__ = [
    "CLOSE_IDLE",
    "CLOSE_POLICY",
    "CLOSE_SLOW",
    "DIRECT",
    "Connection",
    "DirectSocket",
    "Held",
    "Sink",
    "client_connection",
]

log = logging.getLogger("chatserver.hub")

# the key under which chatserver's own WebSocket protocol offers itself in an ASGI scope's
# "extensions" (chatserver.web.direct); absent under any other protocol
DIRECT = "chatserver.direct"

CLOSE_POLICY = 1008  # flooding, oversized, refused
CLOSE_SLOW = 1013  # outbox overflow: try again later
CLOSE_IDLE = 1001  # no frame within the idle timeout


class Sink(Protocol):
    """What a connection needs from the WebSocket (Starlette's WebSocket fits)."""

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class DirectSocket(Protocol):
    """A WebSocket that takes frames from the hub and hands it frames, both without a
    task or an await (chatserver.web.direct; see ``serve_direct``)."""

    def attach(self, on_frame: Callable[[str | bytes], None]) -> None: ...

    def detach(self) -> None: ...

    def can_write(self) -> bool: ...

    def write_text(self, data: str) -> None: ...

    def write_texts(self, frames: list[str]) -> None:
        """Several frames in one write to the transport."""
        ...

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class Held:
    """While held (``with held:``), frames for direct sockets are kept per connection and
    written at the release, each connection's in one write.

    The writer holds them while it runs a commit's callbacks: what one commit tells one
    client (an agent's ``assigned`` and the chat's first message, an agent's messages
    from several chats, a player's acks) then costs one system call and one TCP segment
    instead of one per frame. Nothing awaits inside, so no frame waits longer than the
    callbacks take to run, and frames keep their order on every connection.
    """

    __slots__ = ("conns", "depth")

    def __init__(self) -> None:
        self.depth = 0
        self.conns: list[Connection] = []

    def __enter__(self) -> None:
        self.depth += 1

    def __exit__(self, *exc: object) -> None:
        self.depth -= 1
        if self.depth:
            return
        conns, self.conns = self.conns, []
        for conn in conns:
            try:
                conn.release()
            except Exception:  # one broken socket must not keep the others' frames
                log.exception("%r: writing held frames failed", conn)


def client_connection(
    ws: Sink, kind: str, settings: Settings, now: float, peer: str, held: Held | None = None
) -> Connection:
    """A player's or agent's connection, with the rate limits and outbox the settings give."""
    s = settings
    if kind == "agent":
        bucket = TokenBucket(s.agent_rate, s.agent_burst, s.flood_after)
    else:
        bucket = TokenBucket(s.player_rate, s.player_burst, s.flood_after)
    return Connection(
        ws, kind, bucket=bucket, outbox_limit=s.outbox_limit, now=now, peer=peer, held=held
    )


class Connection:
    __slots__ = (
        "agent",
        "bucket",
        "close_code",
        "closed",
        "direct",
        "edge_pings",
        "held",
        "holding",
        "kind",
        "last_recv",
        "limit",
        "opened",
        "outbox",
        "peer",
        "preauth",
        "relay",
        "sender",
        "session",
        "topics",
        "ws",
        "__weakref__",
    )

    def __init__(
        self,
        ws: Sink,
        kind: str,
        *,
        bucket: TokenBucket,
        outbox_limit: int,
        now: float,
        peer: str = "",
        held: Held | None = None,
    ) -> None:
        self.ws = ws
        self.kind = kind  # "player" | "agent"
        self.bucket = bucket
        self.limit = outbox_limit
        self.last_recv = now
        self.opened = now
        self.peer = peer
        self.outbox: deque[str] = deque()
        self.sender: asyncio.Task[None] | None = None
        self.closed = False
        self.close_code: tuple[int, str] | None = None
        self.session: PlayerSession | None = None
        self.agent: AgentPresence | None = None
        self.topics: set[str] = set()  # bus topics to leave when the connection goes
        self.preauth: AgentRecord | None = None  # the console's signed-in agent, if any
        # a client on another node: frames go straight to the bus (whose sender batches
        # them, and whose edge keeps the bounded outbox), with no task of ours per frame
        self.relay: Callable[[str], None] | None = None
        self.edge_pings = 0.0  # a tunnelled client's: how often its edge pings it (0: never)
        # a socket of this node's that can take a frame now: written at once while
        # nothing is queued before it and its buffer is below the high-water mark
        self.direct: DirectSocket | None = None
        self.held = held  # frames for ``direct`` wait here while it is held
        self.holding: list[str] = []

    def __repr__(self) -> str:
        return f"<Connection {self.kind} {self.peer}>"

    @property
    def address(self) -> str:
        """The peer's address without the port (for per-address limits)."""
        return self.peer.rsplit(":", 1)[0] if self.peer else "unknown"

    # -- sending ---------------------------------------------------------------

    def push(self, data: str) -> None:
        """Queue one encoded frame; never blocks, never raises."""
        if self.closed or self.close_code is not None:
            return
        if self.relay is not None:
            self.relay(data)
            return
        direct = self.direct
        if direct is not None and self.sender is None and direct.can_write():
            # the outbox is empty: no sender task runs without it
            held = self.held
            if held is not None and held.depth:
                if not self.holding:
                    held.conns.append(self)
                self.holding.append(data)
            else:
                direct.write_text(data)
            return
        if len(self.outbox) >= self.limit:
            log.warning("%r: %d frames unread, closing", self, len(self.outbox))
            self.outbox.clear()
            self.close(CLOSE_SLOW, "client too slow: reconnect and resume")
            return
        self.outbox.append(data)
        self._kick()

    def release(self) -> None:
        """Write the frames held for this connection (see ``Held``)."""
        frames, self.holding = self.holding, []
        direct = self.direct
        if self.closed or direct is None:
            return  # gone meanwhile: dropped, like its outbox
        if direct.can_write():
            direct.write_texts(frames)
        else:
            for data in frames:
                self.push(data)

    def send(self, frame: dict[str, Any]) -> None:
        self.push(encode(frame))

    def send_error(self, err: ClientError) -> None:
        self.send(error_frame(err.to_dict()))

    def close(self, code: int, reason: str) -> None:
        """Close after what is already queued has been sent."""
        if self.closed or self.close_code is not None:
            return
        self.close_code = (code, reason)
        self._kick()

    def _kick(self) -> None:
        if self.sender is None:
            self.sender = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        ws = self.ws
        try:
            while self.outbox:
                await ws.send_text(self.outbox.popleft())
            if self.close_code is not None:
                self.closed = True
                await ws.close(*self.close_code)
        except Exception:  # the peer is gone; the receive loop will see the disconnect
            self.closed = True
            self.outbox.clear()
        finally:
            self.sender = None
        if self.outbox and not self.closed:  # pushed while the last send was in flight
            self._kick()

    def gone(self) -> None:
        """The receive loop has ended: drop what was not sent."""
        self.closed = True
        self.outbox.clear()
        if self.sender is not None:
            self.sender.cancel()
            self.sender = None

    async def flush(self, timeout: float = 1.0) -> None:
        """Wait (briefly) until queued frames are written; used before a close."""
        with contextlib.suppress(asyncio.TimeoutError):
            async with asyncio.timeout(timeout):
                while self.sender is not None:
                    await asyncio.shield(self.sender)
