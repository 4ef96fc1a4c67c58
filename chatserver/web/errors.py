"""One JSON shape for every HTTP error: ``{"error": {"code", "message", "field"?}}``."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Send

from ..exceptions import ClientError
from ..logs import OncePerInterval

__all__ = [
    "client_error",
    "error_response",
    "http_error",
    "json_object",
    "send_error",
    "server_error",
]


async def json_object(request: Request) -> dict[str, object]:
    """The request's body as a JSON object, or ``bad_json``."""
    try:
        data = await request.json()
    except ValueError:
        raise ClientError("bad_json", "send a JSON object") from None
    if not isinstance(data, dict):
        raise ClientError("bad_json", "send a JSON object")
    return data


log = logging.getLogger("chatserver.web")
_failures = OncePerInterval(log)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
}


def error_response(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


async def send_error(
    send: Send, status: int, code: str, message: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """The same JSON error from plain ASGI middleware, outside Starlette's handlers."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def client_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ClientError)
    headers = {}
    if exc.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry = exc.extra.get("retry_after")
    if isinstance(retry, int):
        headers["Retry-After"] = str(retry)
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status, headers=headers)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


async def server_error(request: Request, exc: Exception) -> Response:
    _failures.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "something went wrong on our side")
