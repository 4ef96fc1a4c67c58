"""REST API: health checks, topics, and requests for integrations (API token auth)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import transcripts
from ..core.requests import InvalidRequestNumber, format_request_number, parse_request_number
from ..desk.public import iso
from ..exceptions import AuthError, ClientError, NotFoundError, StoreError
from ..hub import Hub
from ..privacy.policy import need
from ..security import same_secret
from ..store import AgentRecord, RequestRecord, RequestSummary
from .access import api_caller, search_scope, visible_request
from .auth import credential
from .errors import error_response

__all__ = ["get_request", "healthz", "list_requests", "metrics", "readyz", "topics"]


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def healthz(request: Request) -> JSONResponse:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


async def metrics(request: Request) -> Response:
    """This node's figures for Prometheus (chatserver.metrics), behind a bearer token."""
    token: str = request.app.state.settings.metrics_token
    if not token:
        raise NotFoundError("metrics_disabled", "/metrics is off: set metrics_token to enable it")
    given = credential(request, "bearer")
    if given is None:
        raise AuthError("auth_required", "send the metrics token: Authorization: Bearer <token>")
    if not same_secret(given, token):
        raise AuthError("invalid_token", "wrong metrics token")
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)


async def readyz(request: Request) -> JSONResponse:
    """Readiness: the store answers and the writer has not failed; on an edge node of a
    cluster, the hub node is there to serve its clients."""
    node = getattr(request.app.state, "node", None)
    cluster = node.describe() if node is not None else {}
    if node is not None and node.role != "hub":
        if not node.hub_ready:
            return error_response(
                503, "service_unavailable", "no hub node is reachable right now", **cluster
            )
        return JSONResponse({"status": "ready", **cluster})
    hub = _hub(request)
    if hub.failed is not None:
        return error_response(503, "store_unavailable", "the store failed; restarting is needed")
    try:
        await hub.store.ping()
    except StoreError as exc:
        return error_response(503, "store_unavailable", str(exc))
    return JSONResponse(
        {
            "status": "ready",
            "connections": len(hub.conns),
            "queued": len(hub.router),
            **cluster,
        }
    )


async def topics(request: Request) -> JSONResponse:
    """The topics a player may choose in the pre-chat form, with their labels."""
    hub = _hub(request)
    out = []
    for topic in hub.routing.topics.values():
        entry = topic.public()
        try:
            hub.check_open(topic)
            entry["open"] = True
        except ClientError as err:
            entry["open"] = False
            entry["reason"] = err.extra.get("reason")
        out.append(entry)
    return JSONResponse({"topics": out})


async def api_agent(request: Request) -> AgentRecord:
    """The agent behind an API token or the console's cookie (``access.api_caller``)."""
    return (await api_caller(request)).agent


def request_json(rec: RequestRecord) -> dict[str, Any]:
    chat = rec.chat
    return {
        "number": format_request_number(rec.number),
        "status": rec.status,
        "created_at": iso(rec.created_at),
        "updated_at": iso(rec.updated_at),
        "chat": {
            "id": chat.id,
            "topic": chat.topic,
            "created_at": iso(chat.created_at),
            "assigned_at": iso(chat.assigned_at),
            "first_response_at": iso(chat.first_response_at),
            "ended_at": iso(chat.ended_at),
            "ended_by": chat.ended_by,
        },
        "player": {"name": chat.name, "username": chat.username, "email": chat.email},
        "agent": None if chat.agent_id is None else {"id": chat.agent_id, "name": chat.agent_name},
        "satisfaction": None
        if rec.rating is None
        else {
            "resolved": rec.resolved,
            "rating": rec.rating,
            "comment": rec.rating_comment,
            **({"nps": rec.nps} if rec.nps is not None else {}),
        },
        "resolution": rec.resolution,
        "resolution_note": rec.resolution_note,
        "priority": rec.priority,
        # every chat of the request (a player may open a later one on it), first first
        "chats": [c.id for c in rec.chats] or [chat.id],
        "sla": {
            "resolution_due": iso(rec.sla_due),
            "resolution_breached_at": iso(rec.sla_breached_at),
            "reply_due": iso(rec.reply_due),
            "reply_breached_at": iso(rec.reply_breached_at),
        },
        "transcript": transcripts.entries(rec, internal=True),
    }


def _summary(r: RequestSummary) -> dict[str, Any]:
    return {
        "number": format_request_number(r.number),
        "status": r.status,
        "created_at": iso(r.created_at),
        "chat": r.chat_id,
        "topic": r.topic,
        "player": {"name": r.name, "username": r.username, "email": r.email},
        "agent": r.agent_name,
        "resolution": r.resolution,
        "rating": r.rating,
    }


def _time(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ClientError("invalid_field", f"{name} must be an ISO 8601 time", field=name) from None


async def list_requests(request: Request) -> JSONResponse:
    """GET /api/requests: filter by ``q`` (number, or any part of a name, username or
    e-mail), ``username``, ``email``, ``since`` and ``until``; newest first, paged by
    ``before`` (the ``next_before`` of the previous page)."""
    caller = await api_caller(request)
    need(caller.principal, "requests:read")
    params = request.query_params
    try:
        limit = min(max(int(params.get("limit", "50")), 1), 200)
    except ValueError:
        raise ClientError("invalid_field", "limit must be a number", field="limit") from None
    hub = _hub(request)
    store_filters = {
        "username": params.get("username") or None,
        "email": params.get("email") or None,
        "since": _time(request, "since"),
        "until": _time(request, "until"),
        "before": _time(request, "before"),
    }
    q = (params.get("q") or "").strip()
    if q:
        try:
            store_filters["number"] = parse_request_number(q)
        except InvalidRequestNumber:
            store_filters["text"] = q
    rows = await hub.store.search_requests(
        limit=limit,
        scope=search_scope(caller),
        **store_filters,  # type: ignore[arg-type]
    )
    more = len(rows) == limit
    return JSONResponse(
        {
            "requests": [_summary(r) for r in rows],
            "next_before": iso(rows[-1].created_at) if more and rows else None,
        }
    )


async def get_request(request: Request) -> JSONResponse:
    """GET /api/requests/{number}: a request and its transcript."""
    caller = await api_caller(request)
    rec = await visible_request(request, caller, request.path_params["number"])
    return JSONResponse(request_json(rec))
