"""Origin checks for browser requests (WebSocket hijacking, CORS)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from urllib.parse import urlsplit

__all__ = ["origin_allowed", "same_origin"]


def same_origin(origin: str, host: str | None) -> bool:
    """True if ``origin`` (scheme://host[:port]) names the host the request was sent to."""
    if not host:
        return False
    try:
        return urlsplit(origin).netloc.lower() == host.lower()
    except ValueError:
        return False


def origin_allowed(headers: Mapping[str, str], allowed: Collection[str]) -> bool:
    """Browsers always send Origin on WebSockets; clients without one are not browsers.

    A browser page may connect if it is on our own origin or on one the operator
    listed (``*`` allows any).
    """
    origin = headers.get("origin")
    if origin is None:
        return True
    if "*" in allowed or origin in allowed:
        return True
    return same_origin(origin, headers.get("host"))
