"""The bare baseline: a WebSocket relay on the same stack (Starlette, uvicorn with uvloop,
httptools and websockets-sansio, no compression) that stores nothing and checks nothing.

A client's first frame is ``join <pair> <side>``, answered with ``joined``; after that
every text frame goes to the other side of its pair, except heartbeats. Those go as
chatserver's do: the server pings each joined socket every ``PING_SECONDS``, a slot of
them every ``TICK`` (``chatserver.hub.heartbeats``), and takes the client's ``PONG``; a
client's own ``PING`` is answered with ``PONG`` (exact bytes, no parsing).
Run: ``python -m bench.baseline --port 0``.
"""

from __future__ import annotations

import argparse
import asyncio
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
PING_SECONDS = 25.0
TICK = 0.1


class Wheel:
    """Each socket is pinged once per ``PING_SECONDS``; one slot of sockets per tick, the
    slots taken in turn."""

    def __init__(self) -> None:
        self.slots: list[set[WebSocket]] = [set() for _ in range(round(PING_SECONDS / TICK))]
        self.next = 0
        self.placed = 0
        self.task: asyncio.Task[None] | None = None

    def add(self, ws: WebSocket) -> int:
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self.run())
        slot = self.placed % len(self.slots)
        self.placed += 1
        self.slots[slot].add(ws)
        return slot

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        at = loop.time()
        while True:
            at = max(at + TICK, loop.time())
            await asyncio.sleep(at - loop.time())
            slot, self.next = self.next, (self.next + 1) % len(self.slots)
            for ws in tuple(self.slots[slot]):
                try:
                    await ws.send_text(PING)
                except Exception:  # it went between the tick and its ping
                    self.slots[slot].discard(ws)


wheel = Wheel()


async def relay(ws: WebSocket) -> None:
    await ws.accept()
    _, pair, side = (await ws.receive_text()).split(" ")
    peers[(pair, side)] = ws
    await ws.send_text("joined")
    slot = wheel.add(ws)
    other = (pair, "b" if side == "a" else "a")
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text == PONG:
                continue
            if text == PING:
                await ws.send_text(PONG)
                continue
            peer = peers.get(other)
            if peer is not None and text is not None:
                await peer.send_text(text)
    finally:
        peers.pop((pair, side), None)
        wheel.slots[slot].discard(ws)


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
