"""uvicorn's sans-I/O WebSocket protocol with a direct lane for the hub's sockets.

Through ASGI every frame costs a queue put, a task wake-up, a pause and resume of
reading (two system calls) and Starlette's wrappers on the way in, and a task per
burst of frames on the way out: for ``/ws/player`` and ``/ws/agent``, about a tenth
of the event loop's time per relayed message (bench/HISTORY.md). This protocol is uvicorn's own
(``websockets-sansio``: same parser, handshake, limits, close handshake and
shutdown), and it offers itself to the endpoint in the ASGI scope under
``DIRECT``. An endpoint that ``attach``es a callback gets every later text or binary
frame handed to it as it is parsed, and may ``write_text`` frames straight to the
transport while it ``can_write``. Everything else, the handshake, closing and
the disconnect event included, still goes through ASGI, so an endpoint that does
not attach (the edge node's tunnel, say) runs exactly as under plain uvicorn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState
from websockets.http11 import Request

from ..hub.connection import DIRECT

__all__ = ["DIRECT", "DirectWebSocketProtocol"]


class DirectWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_frame: Callable[[str | bytes], None] | None = None

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none if the handshake was refused
        if scope is not None:
            scope["extensions"][DIRECT] = self  # the app's task has not started yet

    # -- the endpoint's side ------------------------------------------------------------

    def attach(self, on_frame: Callable[[str | bytes], None]) -> None:
        """Hand every frame to ``on_frame`` from now on, those already queued first."""
        while not self.queue.empty():
            message = self.queue.get_nowait()
            if message["type"] != "websocket.receive":
                self.queue.put_nowait(message)  # the disconnect: the endpoint will see it
                break
            text = message.get("text")
            on_frame(text if text is not None else message.get("bytes") or b"")
        self.on_frame = on_frame
        self.resume_reading()  # uvicorn pauses while frames wait in the queue; none will now

    def detach(self) -> None:
        self.on_frame = None

    def can_write(self) -> bool:
        """True while a frame can be written now: open, and below the high-water mark."""
        return (
            self.writable.is_set()
            and not self.close_sent
            and not self.disconnected
            and not self.transport.is_closing()
        )

    def write_text(self, data: str) -> None:
        self.write_texts((data,))

    def write_texts(self, frames: Iterable[str]) -> None:
        """Frames in one write: one system call, not one per frame."""
        conn = self.conn
        try:
            for data in frames:
                conn.send_text(data.encode())
        except InvalidState:  # the peer started closing: the disconnect is on its way
            return
        self.transport.write(b"".join(conn.data_to_send()))

    def pause_reading(self) -> None:
        if not self.read_paused and not self.transport.is_closing():
            self.read_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.read_paused and not self.transport.is_closing():
            self.read_paused = False
            self.transport.resume_reading()

    # -- uvicorn's side -----------------------------------------------------------------

    def send_receive_event_to_app(self) -> None:
        on_frame = self.on_frame
        if on_frame is None or self.close_sent:
            super().send_receive_event_to_app()
            return
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.curr_msg_data_type == "text":
            try:
                text = data.decode()
            except UnicodeDecodeError:
                self.conn.send_close(1007, "invalid UTF-8")
                self.handle_parser_exception()
                return
            on_frame(text)
        else:
            on_frame(bytes(data))
