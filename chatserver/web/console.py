"""Console pages: sign-in and sign-out, the workspace, request search and transcripts, the floor."""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from .. import transcripts
from ..core.requests import InvalidRequestNumber, format_request_number, parse_request_number
from ..exceptions import AuthError, ClientError, NotFoundError
from ..hub import Hub
from ..pools import Busy
from ..privacy.policy import Scope
from ..security import hash_password, verify_password
from ..store import AgentRecord, ConsoleSession, RequestRecord
from .access import audit, search_scope, session_caller, visible_request
from .auth import (
    LOGIN_CSRF_COOKIE,
    SignInThrottle,
    check_csrf,
    checked_form,
    console_session,
    end_session,
    login_csrf_token,
    require,
    secure_headers,
    set_login_csrf,
    set_session_cookie,
    start_session,
)
from .i18n import LANGUAGES
from .origins import client_address
from .pages import render
from .tracking import EXPORTS, change_status, transcript_response

__all__ = [
    "export",
    "first_step_done",
    "safe_next",
    "to_login",
    "language",
    "floor",
    "link_articles",
    "login",
    "login_page",
    "logout",
    "page_session",
    "request_page",
    "requests_page",
    "status_form",
    "workspace",
]


@functools.cache
def _dummy_hash() -> str:
    """A real hash of a random password, so unknown users cost as much as wrong passwords."""
    return hash_password(secrets.token_urlsafe(16))


def _password_matches(stored: str | None, password: str) -> bool:
    """Run on the passwords pool: argon2 takes tens of milliseconds of CPU."""
    return verify_password(stored or _dummy_hash(), password) and stored is not None


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def safe_next(request: Request, value: str | None) -> str:
    """Where to go after signing in: only our own console pages."""
    if value and value.startswith("/console") and not value.startswith("//"):
        return value
    return "/console"


def to_login(request: Request) -> Response:
    target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return RedirectResponse(f"/console/login?next={target}", status_code=303)


async def page_session(
    request: Request,
    roles: tuple[str, ...] = (),
    *,
    allow: Callable[[ConsoleSession], bool] | None = None,
    denied: str = "Your role does not allow this page.",
) -> ConsoleSession | Response:
    """The session for a page, or the response to send instead: sign-in, or 403 (saying
    ``denied``) when its role is not in ``roles`` or ``allow`` says no."""
    session = await console_session(request)
    if session is None:
        return to_login(request)
    if (roles and session.agent.role not in roles) or (allow is not None and not allow(session)):
        return render(request, "error.html", {"me": session, "message": denied}, 403)
    return session


# -- sign in and out -------------------------------------------------------------


async def login_page(request: Request) -> Response:
    if await console_session(request) is not None:
        return RedirectResponse(
            safe_next(request, request.query_params.get("next")), status_code=303
        )
    return _login_form(request, None, 200)


def _login_form(request: Request, error: str | None, status: int, username: str = "") -> Response:
    token = login_csrf_token(request)
    response = render(
        request,
        "login.html",
        {
            "csrf": token,
            "error": error,
            "username": username,
            "next": safe_next(request, request.query_params.get("next")),
            "sso": request.app.state.settings.oidc_label
            if request.app.state.settings.oidc_issuer
            else None,
        },
        status,
    )
    set_login_csrf(request, response, token)
    return response


async def login(request: Request) -> Response:
    """POST /console/login: check the CSRF cookie, the throttle, then the password."""
    form = await request.form()
    username = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")
    try:
        check_csrf(request, request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get("csrf") or ""))
    except AuthError as err:
        return _login_form(request, err.message, 403, username)
    throttle: SignInThrottle = request.app.state.signin_throttle
    try:
        attempt = throttle.attempt(username, client_address(request))
    except ClientError as err:
        response = _login_form(request, err.message, 429, username)
        response.headers["Retry-After"] = str(err.extra.get("retry_after", 60))
        return response
    hub = _hub(request)
    agent = await hub.store.agent_by_username(username) if username else None
    stored = agent.password_hash if agent is not None and not agent.disabled else None
    try:
        checked = await hub.pools.passwords.run(_password_matches, stored, password)
    except Busy as err:
        attempt.give_back()  # nothing was checked
        return _login_form(request, err.message, 503, username)
    if agent is None or not checked:
        target = f"agent:{agent.id}" if agent is not None else None
        await audit(request, "anonymous", "signin.failed", target, {"step": "password"})
        return _login_form(request, "Wrong username or password.", 401, username)
    attempt.give_back(clear=() if agent.two_factor else ("account",))
    response = await first_step_done(
        request, agent, safe_next(request, str(form.get("next") or ""))
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


async def first_step_done(
    request: Request, agent: AgentRecord, next_page: str, how: str = "password"
) -> Response:
    """The password (or single sign-on) was right: a full session, or one that waits for
    the two-factor code, or for two-factor sign-in to be set up where its role needs it."""
    if agent.two_factor:
        stage, goto = "totp", f"/console/login/code?next={quote(next_page)}"
    elif _hub(request).settings.two_factor_required_for(agent.role):
        stage, goto = "enrol", f"/console/security?next={quote(next_page)}"
    else:
        stage, goto = "full", next_page
        await audit(request, f"agent:{agent.id}", "signin", f"agent:{agent.id}", {"by": how})
    token, _ = await start_session(request, agent.id, stage)
    response = RedirectResponse(goto, status_code=303)
    set_session_cookie(request, response, token)
    return response


async def language(request: Request) -> Response:
    """POST /console/language: the agent's console language, kept on their account."""
    session = await page_session(request)
    if isinstance(session, Response):
        return session
    form = await checked_form(request, session)
    lang = form.get("lang", "")
    if lang not in LANGUAGES:
        raise ClientError("unknown_language", f"choose one of {', '.join(LANGUAGES)}", field="lang")
    await _hub(request).store.update_agent(session.agent.id, locale=lang)
    return RedirectResponse(safe_next(request, form.get("next")), status_code=303)


async def logout(request: Request) -> Response:
    session = await console_session(request)
    response = RedirectResponse("/console/login", status_code=303)
    if session is not None:
        form = await request.form()
        check_csrf(request, session.csrf, str(form.get("csrf") or ""))
    await end_session(request, response)
    return secure_headers(response)


# -- the workspace -----------------------------------------------------------------


_KB_LINK = re.compile(r"\[kb:([a-z0-9][a-z0-9-]{0,79})\]")


def link_articles(request: Request, text: str) -> str:
    """A canned response's ``[kb:article-id]`` becomes the article's title and link (an
    unknown or unpublished article stays as written, for the author to notice)."""
    kb = getattr(request.app.state, "kb", None)
    base = request.app.state.settings.base_url

    def one(match: re.Match[str]) -> str:
        article = kb.article(match.group(1)) if kb is not None else None
        return f"{article.title}: {base}/help/{article.id}" if article else match.group(0)

    return _KB_LINK.sub(one, text)


async def workspace(request: Request) -> Response:
    session = await page_session(request)
    if isinstance(session, Response):
        return session
    hub = _hub(request)
    canned = await hub.store.canned_responses()
    boot = {
        "agent": session.agent.public(),
        "csrf": session.csrf,
        "resolutions": list(hub.settings.resolutions),
        "canned": [{**c.public(), "text": link_articles(request, c.text)} for c in canned],
        # names to show for the routing file's ids
        "topics": {t.id: dict(t.labels) for t in hub.routing.topics.values()},
        "departments": {d.id: dict(d.labels) for d in hub.routing.departments.values()},
    }
    return render(request, "workspace.html", {"me": session, "boot": boot})


async def floor(request: Request) -> Response:
    session = await page_session(request, ("supervisor", "admin"))
    if isinstance(session, Response):
        return session
    hub = _hub(request)
    # what players did with suggested articles this past week, per topic
    stats = await hub.store.kb_stats(hub.clock() - 7 * 86400, misses=0)
    kb = [
        {
            "topic": dict(hub.routing.topics[t].labels) if t in hub.routing.topics else {},
            "id": t or "–",
            "served": counts.get("self_served", 0),
            "agent": counts.get("needed_agent", 0),
            "share": stats.self_served_share(t),
        }
        for t, counts in sorted(stats.outcomes.items())
    ]
    context = {"me": session, "boot": {"agent": session.agent.public()}, "kb": kb}
    return render(request, "floor.html", context)


# -- requests ------------------------------------------------------------------------


async def requests_page(request: Request) -> Response:
    session = await page_session(request)
    if isinstance(session, Response):
        return session
    q = request.query_params.get("q", "").strip()[:200]
    results = None
    if q:
        scope = search_scope(session_caller(request, session))
        results = await search(_hub(request), q, limit=100, scope=scope)
    return render(
        request,
        "requests.html",
        {
            "me": session,
            "q": q,
            "results": results,
            "shown": format_request_number,
            "when": transcripts.when,
        },
    )


async def search(
    hub: Hub, q: str, *, limit: int, scope: Scope, before: float | None = None
) -> list[Any]:
    """One box: a request number finds that request; anything else a player. Only what
    ``scope`` (the access policy's answer for the caller) covers."""
    try:
        number = parse_request_number(q)
    except InvalidRequestNumber:
        return await hub.store.search_requests(text=q, limit=limit, before=before, scope=scope)
    return await hub.store.search_requests(number=number, limit=limit, before=before, scope=scope)


async def _record(
    request: Request, session: ConsoleSession, action: str = "request.view"
) -> RequestRecord | Response:
    """The request, if this console may see it (the same 404 page as for an unknown number);
    the view is audited."""
    try:
        return await visible_request(
            request, session_caller(request, session), request.path_params["number"],
            action=action,
        )  # fmt: skip
    except InvalidRequestNumber as err:
        return render(request, "error.html", {"me": session, "message": err.message}, 400)
    except NotFoundError:
        message = "No request has this number."
        return render(request, "error.html", {"me": session, "message": message}, 404)


async def request_page(request: Request) -> Response:
    session = await page_session(request)
    if isinstance(session, Response):
        return session
    rec = await _record(request, session)
    if isinstance(rec, Response):
        return rec
    return render(
        request,
        "transcript.html",
        {
            "me": session,
            "rec": rec,
            "number": format_request_number(rec.number),
            "entries": transcripts.entries(rec, internal=True),
            "statuses": ("open", "pending", "escalated", "resolved", "closed"),
            "when": transcripts.when,
            "topic": _hub(request).routing.topics.get(rec.chat.topic),
        },
    )


async def status_form(request: Request) -> Response:
    """POST /console/requests/{number}/status from the request page."""
    session = await page_session(request)
    if isinstance(session, Response):
        return session
    form = await checked_form(request, session)
    note = form.get("note", "").strip()[:2000] or None
    number = request.path_params["number"]
    rec = await _record(request, session, action="")
    if isinstance(rec, Response):
        return rec
    try:
        rec = await change_status(
            _hub(request), number, str(form.get("status") or ""), session.agent, note
        )
        caller = session_caller(request, session)
        await audit(request, caller, "request.status", rec.number, {"status": rec.status})
    except ClientError as err:
        return render(
            request, "error.html", {"me": session, "message": err.message}, err.http_status
        )
    return RedirectResponse(f"/console/requests/{number}", status_code=303)


async def export(request: Request) -> Response:
    """The transcript as a download: .json, .txt, or a printable .html page."""
    session = await require(request)
    fmt = request.path_params["fmt"]
    if fmt not in EXPORTS:
        return render(request, "error.html", {"message": "Export as .json, .txt or .html."}, 404)
    rec = await _record(request, session, action="transcript.export")
    if isinstance(rec, Response):
        return rec
    return transcript_response(rec, fmt, request, download=fmt != "html")
