"""``/console/escalations`` (supervisors and admins): requests escalated to supervisors,
highest priority first, and those awaiting their player's confirmation; **Take** makes a
request yours. Only what the access policy lets the supervisor see is listed."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import transcripts
from ..core.requests import format_request_number, parse_request_number
from ..exceptions import ClientError
from ..hub import Hub
from ..privacy.policy import may_see
from ..store import RequestRecord
from .access import audit, session_caller, visible_request
from .auth import checked_form
from .console import page_session
from .pages import render
from .tracking import follow_up_text

__all__ = ["escalations_page", "inbox_page", "reply", "take"]

_ROLES = ("supervisor", "admin")


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def escalations_page(request: Request) -> Response:
    session = await page_session(request, _ROLES)
    if isinstance(session, Response):
        return session
    who = session_caller(request, session).principal
    store = _hub(request).store

    def mine(recs: list[RequestRecord]) -> list[RequestRecord]:
        return [
            r for r in recs
            if may_see(who, r.chat.department, r.chat.agent_id, scope="requests:read")
        ]  # fmt: skip

    context = {
        "me": session,
        "escalated": mine(await store.requests_in(["escalated"], 200)),
        "awaiting": mine(await store.requests_in(["awaiting_confirmation"], 200)),
        "shown": format_request_number,
        "when": transcripts.when,
    }
    return render(request, "escalations.html", context)


async def inbox_page(request: Request) -> Response:
    """GET /console/inbox: the requests the team owes an answer (open, escalated) and those
    waiting for the player, soonest resolution target first, late ones marked."""
    session = await page_session(request)
    if isinstance(session, Response):
        return session
    who = session_caller(request, session).principal
    hub = _hub(request)
    recs = await hub.store.requests_in(("open", "escalated", "pending"), 300, by_due=True)
    context = {
        "me": session,
        "requests": [
            r
            for r in recs
            if may_see(who, r.chat.department, r.chat.agent_id, scope="requests:read")
        ],  # fmt: skip
        "shown": format_request_number,
        "when": transcripts.when,
        "now": hub.clock(),
    }
    return render(request, "inbox.html", context)


async def reply(request: Request) -> Response:
    """POST /console/requests/{number}/reply: an answer to the player on the request, kept
    in its thread and sent to them (e-mail, SMS) with a link back to the request's page."""
    session = await page_session(request)
    if isinstance(session, Response):
        return session
    form = await checked_form(request, session)
    caller = session_caller(request, session)
    rec = await visible_request(
        request, caller, request.path_params["number"], scope="requests:write", action=None
    )
    hub = _hub(request)
    number = format_request_number(rec.number)
    try:
        text = follow_up_text(form.get("text"), hub.settings.max_message_chars)
        assert hub.desk is not None
        await hub.desk.reply(rec.number, session.agent.id, session.agent.name, text)
    except ClientError as err:
        context = {"me": session, "message": err.message}
        return render(request, "error.html", context, err.http_status)
    await audit(request, caller, "request.reply", rec.number)
    return RedirectResponse(f"/console/requests/{number}", status_code=303)


async def take(request: Request) -> Response:
    """POST /console/requests/{number}/take: the signed-in agent owns the request."""
    session = await page_session(request)
    if isinstance(session, Response):
        return session
    await checked_form(request, session)
    caller = session_caller(request, session)
    rec = await visible_request(
        request, caller, request.path_params["number"], scope="requests:write", action=None
    )
    hub = _hub(request)
    actor = f"{session.agent.name} (agent {session.agent.id})"
    await hub.store.take_request(rec.number, session.agent.id, actor=actor, now=hub.clock())
    await audit(request, caller, "request.take", rec.number)
    number = format_request_number(parse_request_number(rec.number))
    return RedirectResponse(f"/console/requests/{number}", status_code=303)
