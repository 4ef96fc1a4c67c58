"""Fast WebSocket clients for the load generator (picows: callbacks, no per-frame awaits)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

__all__ = ["Client", "Countdown", "connect_many"]

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
now = time.perf_counter

Handler = Callable[["Client", Any], None]


class Client(WSListener):
    """One socket. Text frames are decoded (JSON, or left as text) and handed to ``handler``."""

    def __init__(self, handler: Handler, *, raw: bool = False) -> None:
        self.handler = handler
        self.raw = raw
        self.transport: WSTransport | None = None
        self.state: dict[str, Any] = {}
        self.disconnected = asyncio.get_running_loop().create_future()

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind == WSMsgType.TEXT:
            payload = frame.get_payload_as_bytes()
            self.handler(self, payload if self.raw else _decode(payload))
        elif kind == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if not self.disconnected.done():
            self.disconnected.set_result(None)

    def send(self, frame: dict[str, Any]) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, _encode(frame))

    def send_text(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, data)

    def drop(self) -> None:
        """Cut the connection without a closing handshake (a dead network)."""
        if self.transport is not None:
            self.transport.disconnect()


async def connect_many(
    url: str, handlers: Iterable[Handler], *, raw: bool = False, parallel: int = 256
) -> list[Client]:
    """Open many sockets, ``parallel`` at a time (the server's accept backlog is finite)."""
    gate = asyncio.Semaphore(parallel)

    async def one(handler: Handler) -> Client:
        async with gate:
            _, client = await ws_connect(lambda: Client(handler, raw=raw), url)
            assert isinstance(client, Client)
            return client

    return list(await asyncio.gather(*(one(h) for h in handlers)))


class Countdown:
    """Resolves once ``hit`` was called ``n`` times."""

    def __init__(self, n: int) -> None:
        self.left = n
        self.done = asyncio.get_running_loop().create_future()
        if n <= 0:
            self.done.set_result(None)

    def hit(self) -> None:
        self.left -= 1
        if self.left <= 0 and not self.done.done():
            self.done.set_result(None)

    async def wait(self, timeout: float, what: str) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self.done), timeout)
        except TimeoutError:
            raise TimeoutError(f"{what}: {self.left} still missing after {timeout} s") from None
