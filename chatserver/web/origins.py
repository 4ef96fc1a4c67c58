"""Origin checks for browser requests (WebSocket hijacking, CORS)."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from ..security import same_secret

__all__ = ["PEER_HEADER", "SECRET_HEADER", "client_address", "origin_allowed", "same_origin"]

# an edge node passing a request on to the hub node says whose it is (chatserver/cluster)
PEER_HEADER = "x-chatserver-peer"
SECRET_HEADER = "x-chatserver-secret"


def client_address(conn: HTTPConnection) -> str:
    """The client's address: the peer's, or the one an edge node of this cluster vouches
    for (with the cluster's secret; anyone else's header is ignored)."""
    node = getattr(conn.app.state, "node", None)
    secret: str | None = node.secret if node is not None else None
    if secret:
        sent, peer = conn.headers.get(SECRET_HEADER), conn.headers.get(PEER_HEADER)
        if sent and peer and same_secret(sent, secret):
            return peer
    return conn.client.host if conn.client else "unknown"


def _web_scheme(scheme: str) -> str:
    """The page scheme a connection's scheme belongs to (``wss`` is ``https``'s)."""
    return {"ws": "http", "wss": "https"}.get(scheme, scheme)


def same_origin(origin: str, host: str | None, scheme: str) -> bool:
    """True if ``origin`` (scheme://host[:port]) is the scheme and host the request was
    sent to (``scheme`` as the server sees it, behind a trusted proxy its forwarded one):
    ``http://chat.example`` is another origin than ``https://chat.example``."""
    if not host:
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme.lower() == _web_scheme(scheme) and parts.netloc.lower() == host.lower()


def origin_allowed(conn: HTTPConnection, allowed: Collection[str]) -> bool:
    """Browsers always send Origin on WebSockets; clients without one are not browsers.

    A browser page may connect if it is on our own origin or on one the operator
    listed (``*`` allows any).
    """
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    if "*" in allowed or origin in allowed:
        return True
    return same_origin(origin, conn.headers.get("host"), conn.url.scheme)
