"""Every error chatserver raises, under one root.

This module is a leaf: it imports nothing from the package, so the pure
``core`` may use it too.

    ChatServerError                 root of everything below
    ├── ClientError                 the client did something we refuse; carries a stable code
    │   ├── ProtocolError           malformed frame, unknown type, bad field, version
    │   ├── StateError              a frame or transition not allowed in the current state
    │   ├── LimitError              rate, size and count limits
    │   ├── AuthError               missing or bad credentials, forbidden
    │   ├── ConflictError           the name or number is already taken
    │   └── NotFoundError           no such chat / request / agent (never says why)
    ├── StoreError                  persistence failed (sqlite/postgres errors are chained)
    └── ConfigError                 settings that cannot work

A ``ClientError`` becomes an ``error`` frame on a WebSocket or an HTTP 4xx with
``{"error": {"code", "message", "field"?}}``; the code is part of the public
protocol (docs/protocol.md) and never changes meaning.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ChatServerError",
    "ClientError",
    "ConfigError",
    "ConflictError",
    "LimitError",
    "NotFoundError",
    "ProtocolError",
    "StateError",
    "StoreError",
]


class ChatServerError(Exception):
    """Root of all chatserver errors."""


class ClientError(ChatServerError):
    """An error the client sees, with a stable machine-readable ``code``."""

    code: str = "bad_request"
    http_status: int = 400

    def __init__(
        self,
        code: str | None = None,
        message: str = "",
        *,
        field: str | None = None,
        status: int | None = None,
        **extra: object,
    ) -> None:
        self.code = code or type(self).code
        self.message = message or self.code.replace("_", " ")
        self.field = field
        self.extra = extra
        if status is not None:
            self.http_status = status
        super().__init__(self.message)

    def to_dict(self) -> dict[str, object]:
        """The public shape of the error, shared by WebSocket and HTTP."""
        out: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        out.update(self.extra)
        return out


class ProtocolError(ClientError):
    """A frame that cannot be understood: bad JSON, unknown type, bad field."""

    code = "bad_frame"


class StateError(ClientError):
    """Something not allowed in the current state (an illegal transition)."""

    code = "wrong_state"
    http_status = 409


class LimitError(ClientError):
    """A size, rate or count limit was exceeded."""

    code = "limit_exceeded"
    http_status = 429


class AuthError(ClientError):
    """Missing, wrong or expired credentials, or not allowed."""

    code = "unauthorized"
    http_status = 401


class ConflictError(ClientError):
    """The thing to create already exists (a username, for example)."""

    code = "conflict"
    http_status = 409


class NotFoundError(ClientError):
    """The thing asked for does not exist (or is not yours: we do not say which)."""

    code = "not_found"
    http_status = 404


class StoreError(ChatServerError):
    """The store could not do what was asked; the driver's error is chained."""


class ConfigError(ChatServerError):
    """Settings that cannot work, found at start-up."""
