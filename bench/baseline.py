"""The bare baseline: a WebSocket relay on the same stack (Starlette, uvicorn with uvloop,
httptools and websockets-sansio, no compression) that stores nothing and checks nothing.

A client's first frame is ``join <pair> <side>``, answered with ``joined``; after that
every text frame goes to the other side of its pair, except a heartbeat (``PING``, the exact
bytes the load generator sends), which is answered with ``PONG`` as chatserver answers it.
Run: ``python -m bench.baseline --port 0``.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from chatserver.config import Settings
from chatserver.server import uvicorn_config

peers: dict[tuple[str, str], WebSocket] = {}
PING = '{"type":"ping"}'
PONG = '{"type":"pong"}'


async def relay(ws: WebSocket) -> None:
    await ws.accept()
    _, pair, side = (await ws.receive_text()).split(" ")
    peers[(pair, side)] = ws
    await ws.send_text("joined")
    other = (pair, "b" if side == "a" else "a")
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text == PING:
                await ws.send_text(PONG)
                continue
            peer = peers.get(other)
            if peer is not None and text is not None:
                await peer.send_text(text)
    finally:
        peers.pop((pair, side), None)


app = Starlette(routes=[WebSocketRoute("/ws", relay)])


class _Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        print(f"baseline listening on http://{host}:{port}", flush=True)


def main() -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--port", type=int, default=0)
    port = args.parse_args().port
    config = uvicorn_config(app, Settings(port=port, ws_max_bytes=1 << 20), lifespan="off")
    _Server(config).run()


if __name__ == "__main__":
    main()
