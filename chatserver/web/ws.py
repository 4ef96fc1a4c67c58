"""WebSocket endpoints: check who may connect, then serve the socket's frames.

On a single node (or the hub node of a cluster) the hub serves the frames here,
straight from the socket when the server runs chatserver's own WebSocket protocol
(``direct.py``), through ASGI otherwise; on an edge node the socket is tunnelled
to the hub node (chatserver/cluster).
"""

from __future__ import annotations

from starlette.websockets import WebSocket

from ..config import Settings
from ..hub import Hub, serve_connection, serve_direct
from ..hub.connection import DIRECT
from ..store import AgentRecord
from .auth import console_session
from .origins import origin_allowed, same_origin

__all__ = ["agent_ws", "player_ws"]


async def _serve(websocket: WebSocket, kind: str, preauth: AgentRecord | None = None) -> None:
    state = websocket.app.state
    client = websocket.client
    peer = f"{client.host}:{client.port}" if client else ""
    node = getattr(state, "node", None)
    if node is not None and node.role != "hub":  # an edge (or one becoming the hub)
        await node.edge.serve(websocket, kind, peer, preauth.id if preauth else None)
        return
    hub: Hub = state.hub
    await websocket.accept()
    conn = hub.connect(websocket, kind, peer)
    conn.preauth = preauth
    direct = websocket.scope.get("extensions", {}).get(DIRECT)
    if direct is not None:
        await serve_direct(hub, conn, direct, _disconnected(websocket))
        return

    async def receive() -> str | bytes | None:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        text = message.get("text")
        return text if text is not None else b""

    await serve_connection(hub, conn, receive)


async def _disconnected(websocket: WebSocket) -> None:
    """Once frames go straight to the hub, ASGI brings only the disconnect."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def player_ws(websocket: WebSocket) -> None:
    settings: Settings = websocket.app.state.settings
    if not origin_allowed(websocket, settings.allowed_origins):
        await websocket.close(code=1008)  # before accept: the browser sees HTTP 403
        return
    await _serve(websocket, "player")


async def agent_ws(websocket: WebSocket) -> None:
    # The console is served from this origin; no other page may drive an agent's socket.
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host")
    if origin is not None and not same_origin(origin, host, websocket.url.scheme):
        await websocket.close(code=1008)
        return
    session = await console_session(websocket)
    await _serve(websocket, "agent", session.agent if session else None)
