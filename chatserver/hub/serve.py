"""One client's frames, in order, until it goes.

Two ways in. ``serve_connection`` is a loop over ``receive``, which returns the next
text frame, ``bytes`` for a binary one, or ``None`` when the client is gone: a
tunnel from an edge node (chatserver/cluster) and any plain ASGI WebSocket use it.
``serve_direct`` is for this node's own sockets (``chatserver.web.direct``): the
socket hands each frame to a ``Feed`` as it is parsed, and a frame that needs no
waiting (a message, typing, a ping: nearly all of them) is handled right there,
with no task, queue or wake-up of its own. A frame that must wait (``hello``
reading the store, an identity check) gets a task, and the frames behind it wait
their turn, so every client's frames are still handled strictly in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from ..exceptions import ProtocolError
from ..logs import OncePerInterval
from .agent import handle_agent_frame
from .connection import Connection, DirectSocket
from .frames import Pending
from .hub import Hub
from .player import handle_player_frame

__all__ = ["Feed", "serve_connection", "serve_direct"]

log = logging.getLogger("chatserver.hub")
_failures = OncePerInterval(log)  # one traceback per interval, however many frames fail

Handler = Callable[[Hub, Connection, str], Pending | None]

# frames held behind a waiting one before the socket stops reading (TCP then pushes back)
FEED_LIMIT = 64

_BINARY = ProtocolError("binary_not_supported", "send JSON text frames")


def handler_for(kind: str) -> Handler:
    return handle_agent_frame if kind == "agent" else handle_player_frame


def _take(hub: Hub, conn: Connection, handle: Handler, frame: str | bytes) -> Pending | None:
    """Handle one of ``conn``'s frames (see ``process_frame``): done now, or the rest to await."""
    if conn.close_code is not None:
        return None  # closing: ignore what is still arriving
    if not isinstance(frame, str):
        conn.send_error(_BINARY)
        return None
    return handle(hub, conn, frame)


async def serve_connection(
    hub: Hub,
    conn: Connection,
    receive: Callable[[], Awaitable[str | bytes | None]],
) -> None:
    handle = handler_for(conn.kind)
    try:
        while True:
            frame = await receive()
            if frame is None:
                break
            pending = _take(hub, conn, handle, frame)
            if pending is not None:
                await pending
    finally:
        hub.disconnect(conn)


class Feed:
    """Takes a direct socket's frames as they arrive; see the module's docstring."""

    __slots__ = ("conn", "handle", "hub", "paused", "sock", "task", "waiting")

    def __init__(self, hub: Hub, conn: Connection, sock: DirectSocket) -> None:
        self.hub = hub
        self.conn = conn
        self.sock = sock
        self.handle = handler_for(conn.kind)
        self.waiting: deque[str | bytes] | None = None  # made when first needed (memory)
        self.task: asyncio.Task[None] | None = None
        self.paused = False

    def __call__(self, frame: str | bytes) -> None:
        if self.task is not None:  # a frame before this one is still being handled
            if self.waiting is None:
                self.waiting = deque()
            self.waiting.append(frame)
            if len(self.waiting) >= FEED_LIMIT and not self.paused:
                self.paused = True
                self.sock.pause_reading()
            return
        try:
            pending = self._one(frame)
        except Exception:
            self._failed()
            return
        if pending is not None:
            self.task = asyncio.get_running_loop().create_task(self._finish(pending))

    def _one(self, frame: str | bytes) -> Pending | None:
        return _take(self.hub, self.conn, self.handle, frame)

    async def _finish(self, pending: Pending | None) -> None:
        try:
            while pending is not None:
                await pending
                pending = None
                waiting = self.waiting
                while pending is None and waiting:
                    if self.paused and len(waiting) <= FEED_LIMIT // 2:
                        self.paused = False
                        self.sock.resume_reading()
                    pending = self._one(waiting.popleft())
        except Exception:
            self.waiting = None
            self._failed()
        finally:
            self.task = None
            if self.paused:
                self.paused = False
                self.sock.resume_reading()

    def _failed(self) -> None:
        _failures.exception("%r: handling a frame failed", self.conn)
        self.conn.close(1011, "internal error")

    async def finish(self) -> None:
        """Wait until the frames already taken have been handled."""
        while self.task is not None:
            await asyncio.shield(self.task)


async def serve_direct(
    hub: Hub, conn: Connection, sock: DirectSocket, gone: Awaitable[object]
) -> None:
    """Serve ``conn``'s frames straight from ``sock`` until ``gone`` resolves."""
    feed = Feed(hub, conn, sock)
    conn.direct = sock
    try:
        sock.attach(feed)  # frames that came before this are fed first, in order
        await gone
        await feed.finish()
    finally:
        sock.detach()
        hub.disconnect(conn)
