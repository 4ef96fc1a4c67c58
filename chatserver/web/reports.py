"""Reports over time: ``/console/reports`` (charts) and ``/api/reports`` (JSON, CSV), for
supervisors and admins. Both read the hourly rollups through ``chatserver.reports``."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..exceptions import AuthError, ClientError
from ..reports.figures import as_csv
from ..reports.service import Reports
from ..store import AgentRecord
from .api import api_agent
from .console import page_session
from .pages import render

__all__ = ["report_api", "reports_page"]

ROLES = ("supervisor", "admin")
MAX_DAYS = 400
TABLES = ("days", "agents", "hours_of_day", "refusals")


def _reports(request: Request) -> Reports:
    reports: Reports = request.app.state.reports
    return reports


def _day(raw: str | None, default: date, field: str) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ClientError("invalid_date", f"{field}: a date, YYYY-MM-DD", field=field) from None


async def _query(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """The range and filters a report was asked for (checked), and the report."""
    params = request.query_params
    reports = _reports(request)
    hub = request.app.state.hub
    zone = ZoneInfo(reports.timezone)
    today = datetime.fromtimestamp(reports.clock(), zone).date()
    first = _day(params.get("from"), today - timedelta(days=6), "from")
    last = _day(params.get("to"), today, "to")
    if last < first or (last - first).days >= MAX_DAYS:
        raise ClientError("invalid_range", f"from..to: up to {MAX_DAYS} days, in order")
    filters: dict[str, Any] = {}
    for name, known in (
        ("department", hub.routing.departments),
        ("topic", hub.routing.topics),
        ("locale", ("tr", "en")),
    ):
        value = params.get(name) or None
        if value is not None and value not in known:
            raise ClientError(f"unknown_{name}", f"no such {name}", field=name)
        filters[name] = value
    agent = params.get("agent") or None
    if agent is not None and not agent.isdigit():
        raise ClientError("invalid_agent", "agent: an agent id", field="agent")
    filters["agent_id"] = int(agent) if agent else None
    if agent and any(filters[k] is not None for k in ("department", "topic", "locale")):
        # (the rollups keep agents per day, apart from departments, topics and languages)
        raise ClientError(
            "invalid_filter", "an agent's report has no department, topic or language filter"
        )
    report = await reports.report((first, last), filters)
    asked = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": reports.timezone,
        **{k: v for k, v in filters.items() if v is not None},
    }
    return asked, report


async def report_api(request: Request) -> Response:
    """``GET /api/reports?from=&to=&department=&topic=&agent=&locale=&format=&table=``."""
    agent: AgentRecord = await api_agent(request)
    if agent.role not in ROLES:
        raise AuthError("forbidden", "reports are for supervisors and admins", status=403)
    fmt = request.query_params.get("format", "json")
    table = request.query_params.get("table", "days")
    if fmt not in ("json", "csv"):
        raise ClientError("invalid_format", "format: json or csv", field="format")
    if table not in TABLES:
        raise ClientError("invalid_table", f"table: one of {', '.join(TABLES)}", field="table")
    asked, report = await _query(request)
    if fmt == "csv":
        name = f"report-{table}-{asked['from']}-{asked['to']}.csv"
        return Response(
            as_csv(report, table),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse({"query": asked, **report})


async def reports_page(request: Request) -> Response:
    """``/console/reports``: filters, figures and charts, with CSV and JSON exports."""
    session = await page_session(request, ROLES)
    if isinstance(session, Response):
        return session
    hub = request.app.state.hub
    try:
        asked, report = await _query(request)
        error = None
    except ClientError as err:
        asked, report, error = {}, None, err
    context = {
        "me": session,
        "asked": asked,
        "report": report,
        "error": error,
        "departments": list(hub.routing.departments.values()),
        "topics": list(hub.routing.topics.values()),
        "agents": await hub.store.list_agents(),
        "query": request.url.query,
        "boot": {"report": report},
    }
    return render(request, "reports.html", context, error.http_status if error else 200)
