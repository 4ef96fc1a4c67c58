"""The audit trail for admins: ``/console/audit`` to search it, ``/api/audit`` to export it
(JSON, or CSV with ``format=csv``). Exporting is itself recorded. ``chatserver audit verify``
checks the chain."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..desk.public import iso
from ..exceptions import AuthError, ClientError
from ..hub import Hub
from ..privacy.audit import AuditEntry
from ..store import ConsoleSession
from .access import api_caller, audit
from .console import page_session
from .pages import render

__all__ = ["audit_api", "audit_page"]

_PAGE = 100
_EXPORT_MAX = 10_000


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    out: dict[str, Any] = {}
    for name in ("actor", "action", "target"):
        value = (params.get(name) or "").strip()[:120]
        if value:
            out[name] = value
    for name in ("since", "until"):
        raw = (params.get(name) or "").strip()
        if raw:
            try:
                out[name] = datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise ClientError("invalid_date", f"{name} must be a date", field=name) from None
    before = params.get("before")
    if before:
        if not before.isdigit():
            raise ClientError("invalid_field", "before is an entry number", field="before")
        out["before_seq"] = int(before)
    return out


def _row(e: AuditEntry) -> dict[str, Any]:
    return {**e.public(), "at": iso(e.at)}


async def audit_page(request: Request) -> Response:
    session = await page_session(request, ("admin",))
    if isinstance(session, Response):
        return session
    return await _page(request, session)


async def _page(request: Request, session: ConsoleSession) -> Response:
    try:
        filters = _filters(request)
    except ClientError as err:
        context = {"me": session, "entries": [], "error": err, "q": request.query_params}
        return render(request, "audit.html", context, 400)
    entries = await _hub(request).store.audit_search(limit=_PAGE, **filters)
    context = {
        "me": session,
        "entries": [_row(e) for e in entries],
        "error": None,
        "q": request.query_params,
        "more": entries[-1].seq if len(entries) == _PAGE else None,
    }
    return render(request, "audit.html", context)


async def audit_api(request: Request) -> Response:
    """GET /api/audit?actor=&action=&target=&since=&until=&before=&format=json|csv."""
    caller = await api_caller(request)
    if caller.principal.role != "admin" or not caller.principal.has("admin"):
        raise AuthError(
            "forbidden", "only admins (admin scope) may read the audit trail", status=403
        )
    filters = _filters(request)
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ClientError("invalid_format", "format is json or csv", field="format")
    limit = _EXPORT_MAX if fmt == "csv" else _PAGE
    entries = await _hub(request).store.audit_search(limit=limit, **filters)
    await audit(request, caller, "audit.export", None, {"entries": len(entries), "format": fmt})
    rows = [_row(e) for e in entries]
    if fmt == "json":
        more = entries[-1].seq if len(entries) == limit else None
        return JSONResponse({"entries": rows, "next_before": more})
    out = io.StringIO()
    columns = ["seq", "at", "actor", "action", "target", "detail", "ip", "hash"]
    writer = csv.DictWriter(out, columns, extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "detail": "" if r["detail"] is None else str(r["detail"])})
    response = Response(out.getvalue(), media_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response
