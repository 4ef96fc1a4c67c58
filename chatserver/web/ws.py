"""WebSocket endpoints: read a frame, hand it to the hub, until the client goes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.websockets import WebSocket

from ..exceptions import ProtocolError
from ..hub import Connection, Hub, handle_agent_frame, handle_player_frame
from ..store import AgentRecord
from .auth import console_session
from .origins import origin_allowed, same_origin

__all__ = ["agent_ws", "player_ws"]

_BINARY = ProtocolError("binary_not_supported", "send JSON text frames")


async def _serve(
    websocket: WebSocket,
    kind: str,
    handle: Callable[[Hub, Connection, str], Awaitable[None]],
    preauth: AgentRecord | None = None,
) -> None:
    hub: Hub = websocket.app.state.hub
    await websocket.accept()
    client = websocket.client
    conn = hub.connect(websocket, kind, f"{client.host}:{client.port}" if client else "")
    conn.preauth = preauth
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if conn.close_code is not None:
                continue  # closing: ignore what is still arriving
            text = message.get("text")
            if text is None:
                conn.send_error(_BINARY)
                continue
            await handle(hub, conn, text)
    finally:
        hub.disconnect(conn)


async def player_ws(websocket: WebSocket) -> None:
    hub: Hub = websocket.app.state.hub
    if not origin_allowed(websocket.headers, hub.settings.allowed_origins):
        await websocket.close(code=1008)  # before accept: the browser sees HTTP 403
        return
    await _serve(websocket, "player", handle_player_frame)


async def agent_ws(websocket: WebSocket) -> None:
    # The console is served from this origin; no other page may drive an agent's socket.
    origin = websocket.headers.get("origin")
    if origin is not None and not same_origin(origin, websocket.headers.get("host")):
        await websocket.close(code=1008)
        return
    session = await console_session(websocket)
    await _serve(websocket, "agent", handle_agent_frame, session.agent if session else None)
