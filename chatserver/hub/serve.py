"""One client's frames, in order, until it goes: the loop every transport shares.

A WebSocket on this node and a tunnel from an edge node (chatserver/cluster) both
feed it; ``receive`` returns the next text frame, ``bytes`` for a binary one, or
``None`` when the client is gone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..exceptions import ProtocolError
from .agent import handle_agent_frame
from .connection import Connection
from .hub import Hub
from .player import handle_player_frame

__all__ = ["serve_connection"]

Handler = Callable[[Hub, Connection, str], Awaitable[None]]

_BINARY = ProtocolError("binary_not_supported", "send JSON text frames")


def handler_for(kind: str) -> Handler:
    return handle_agent_frame if kind == "agent" else handle_player_frame


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
            if conn.close_code is not None:
                continue  # closing: ignore what is still arriving
            if not isinstance(frame, str):
                conn.send_error(_BINARY)
                continue
            await handle(hub, conn, frame)
    finally:
        hub.disconnect(conn)
