"""HTTP on an edge node: passed on to the hub node, streamed both ways.

Only the hub node has the hub, so an edge passes every HTTP request on (console pages,
the API, uploads, the widget's files) except its own health checks. The client's
address goes along in a header the hub trusts only with the cluster's secret
(``web.origins.client_address``), so per-address limits still see the client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from ..web.errors import send_error
from ..web.origins import PEER_HEADER, SECRET_HEADER

__all__ = ["EdgeProxy", "forwarding_client"]

_LOCAL = {"/healthz", "/readyz", "/metrics"}  # each node answers these for itself
# hop-by-hop headers (RFC 9110 7.6.1) and ours, which only an edge may set
_DROP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
    PEER_HEADER.encode(),
    SECRET_HEADER.encode(),
}


class _NoCookies(CookieJar):
    """A cookie jar that keeps nothing: the edge forwards many clients' requests over one
    client, so a ``Set-Cookie`` meant for one (an agent's console session) must never be
    sent with another's request."""

    def __init__(self) -> None:
        super().__init__(DefaultCookiePolicy(allowed_domains=[]))

    def set_cookie(self, cookie: Cookie) -> None:
        return None

    def extract_cookies(self, response: object, request: object) -> None:
        return None


def forwarding_client() -> httpx.AsyncClient:
    """The one HTTP client an edge forwards with: no state of any client in it (no
    cookies, no credentials); each request carries only its own client's headers."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(60.0, connect=5.0), cookies=_NoCookies(), follow_redirects=False
    )


class EdgeProxy:
    """ASGI middleware: on an edge node, HTTP requests go to the hub node."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        node = getattr(scope["app"].state, "node", None) if "app" in scope else None
        if scope["type"] != "http" or node is None or node.role == "hub" or scope["path"] in _LOCAL:
            await self.app(scope, receive, send)
            return
        if not node.hub_ready or node.hub_url is None:
            await _no_hub(send)
            return
        await _forward(node.http, scope, receive, send, node.hub_url, node.secret)


async def _forward(
    http: httpx.AsyncClient, scope: Scope, receive: Receive, send: Send, base: str, secret: str
) -> None:
    headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _DROP]
    client = scope.get("client")
    headers.append((PEER_HEADER.encode(), (client[0] if client else "unknown").encode()))
    headers.append((SECRET_HEADER.encode(), secret.encode()))
    url = base + (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    if scope.get("query_string"):
        url += "?" + scope["query_string"].decode("latin-1")
    request = http.build_request(scope["method"], url, headers=headers, content=_body(receive))
    try:
        response = await http.send(request, stream=True)
    except httpx.HTTPError:
        await _no_hub(send)
        return
    try:
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(k, v) for k, v in response.headers.raw if k.lower() not in _DROP],
            }
        )
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        await response.aclose()


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message: Any = await receive()
        if message["type"] != "http.request":
            return
        body = message.get("body", b"")
        if body:
            yield body
        if not message.get("more_body", False):
            return


async def _no_hub(send: Send) -> None:
    await send_error(
        send,
        503,
        "service_unavailable",
        "the chat service is moving to another node: try again shortly",
        [(b"retry-after", b"2")],
    )
