"""uvicorn's httptools protocol with limits on request heads.

A request's head (request line and headers) must be complete within
``header_timeout_seconds`` and ``max_header_bytes``: a connection that sends nothing,
trickles its head, or half-sends a WebSocket handshake is closed (431 for one that is
too large). It subclasses uvicorn's protocol, so ``chatserver.server`` uses it only with
the uvicorn versions it was tested with.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..config import Settings

__all__ = ["GuardedHttpProtocol", "guarded_http"]


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit for request heads
    (``guarded_http`` makes one with the settings' values)."""

    max_head = 16 * 1024
    head_seconds = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_bytes = 0
        self.in_head = True
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_seconds, self._head_timeout)

    def _disarm(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timeout(self) -> None:
        self.head_timer = None
        if self.in_head and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.in_head and self.parser is not None:
            # what is still not a whole head after parsing was all head
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head and not self.transport.is_closing():
                self._refuse_head()

    def _refuse_head(self) -> None:
        body = b"request headers too large"
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head = True
        self.head_bytes = 0
        self._arm()

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._disarm()
        super().on_headers_complete()


def guarded_http(settings: Settings) -> type[GuardedHttpProtocol]:
    """The protocol class for uvicorn's ``http``, with the settings' head limits."""
    return type(
        "GuardedHttp",
        (GuardedHttpProtocol,),
        {"max_head": settings.max_header_bytes, "head_seconds": settings.header_timeout_seconds},
    )
