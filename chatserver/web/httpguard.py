"""Limits every HTTP request body meets before any of our code runs (request heads are
limited in ``web/httpproto.py``).

- ``BodyLimit`` (ASGI middleware): a body is limited per route while it is read
  (uploads to ``max_file_bytes``, everything else to ``max_body_bytes``); a declared
  ``Content-Length`` over it is refused before a byte is read. The answer is 413 with
  the code ``payload_too_large`` (``file_too_large`` for uploads).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from ..exceptions import LimitError
from .errors import send_error

__all__ = ["UPLOAD_SLACK", "BodyLimit"]

UPLOAD_SLACK = 64 * 1024  # multipart framing and small fields around an upload's bytes


class BodyLimit:
    """ASGI middleware: request bodies limited per route while they are read."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.default = settings.max_body_bytes
        self.upload = settings.max_file_bytes + UPLOAD_SLACK
        self.file_mib = settings.max_file_bytes // (1024 * 1024)

    def limit_for(self, scope: Scope) -> tuple[int, LimitError]:
        """The route's limit, and the error past it (uploads say so as ``file_too_large``)."""
        path: str = scope["path"]
        if (path.startswith("/api/chats/") and path.endswith("/files")) or (
            path == "/api/requests/followup/files"
        ):
            message = f"a file can be at most {self.file_mib} MiB"
            return self.upload, LimitError("file_too_large", message, field="file", status=413)
        message = f"a request body here can have at most {self.default} bytes"
        return self.default, LimitError("payload_too_large", message, status=413)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, over = self.limit_for(scope)
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    await _refuse(send, over)
                    return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise over
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, watched)
        except LimitError as exc:
            if exc is not over or started:
                raise
            await _refuse(send, over)


async def _refuse(send: Send, err: LimitError) -> None:
    await send_error(send, 413, err.code, err.message, [(b"connection", b"close")])
