"""Whose address a request comes from: an edge node's word counts only with the secret."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from starlette.requests import Request

from chatserver.web.origins import client_address


def request(headers: dict[str, str], secret: str | None) -> Request:
    state = SimpleNamespace(node=SimpleNamespace(secret=secret) if secret is not None else None)
    scope: dict[str, Any] = {
        "type": "http",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "client": ("10.0.0.12", 50000),
        "app": SimpleNamespace(state=state),
    }
    return Request(scope)


def test_an_edge_with_the_secret_speaks_for_its_client() -> None:
    sent = {"x-chatserver-peer": "203.0.113.7", "x-chatserver-secret": "s3cret-s3cret"}
    assert client_address(request(sent, "s3cret-s3cret")) == "203.0.113.7"


def test_anyone_else_gets_their_own_address() -> None:
    forged = {"x-chatserver-peer": "203.0.113.7", "x-chatserver-secret": "guess"}
    assert client_address(request(forged, "s3cret-s3cret")) == "10.0.0.12"
    assert client_address(request(forged, None)) == "10.0.0.12"  # one node: no cluster
    assert client_address(request({"x-chatserver-peer": "203.0.113.7"}, "s3cret")) == "10.0.0.12"
