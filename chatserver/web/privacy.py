"""Data-subject requests in the console (``/console/privacy``), the REST API
(``/api/privacy/...``) and the player's link (``/privacy/export/<secret>``).

Only admins and privacy officers (``agent add``/the agents page: "privacy officer"), or an
admin's API token with the ``admin`` scope, may use them: the access policy decides
(``privacy.policy.may_manage_privacy``). Every step is in the audit trail.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..exceptions import AuthError, ClientError, NotFoundError
from ..hub import Hub
from ..mail import MailError
from ..privacy.desk import PrivacyDesk
from ..privacy.policy import may_manage_privacy
from ..privacy.subjects import Found, check_subject
from ..security import token_hash
from ..store import ConsoleSession
from ..store.privacy import Subject
from .access import Caller, api_caller, session_caller
from .auth import checked_form, secure_headers
from .console import page_session
from .errors import json_object
from .origins import client_address
from .pages import render

__all__ = [
    "console_erase",
    "console_export",
    "console_link",
    "console_page",
    "erase_api",
    "export_api",
    "link_api",
    "player_export",
    "subjects_api",
]


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _desk(request: Request) -> PrivacyDesk:
    hub = _hub(request)
    return PrivacyDesk(hub.store, hub.files, run=hub.pools.files.run, clock=hub.clock)


def _zip(data: bytes, name: str) -> Response:
    response = Response(data, media_type="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return secure_headers(response)


# -- the console ---------------------------------------------------------------------------


async def _officer(request: Request) -> ConsoleSession | Response:
    return await page_session(
        request,
        allow=lambda s: may_manage_privacy(session_caller(request, s).principal),
        denied="Only admins and privacy officers can answer data requests.",
    )


def _subject_of(values: Any) -> Subject:
    return check_subject(values.get("member_id"), values.get("username"), values.get("email"))


async def _view(
    request: Request,
    session: ConsoleSession,
    *,
    subject: Subject | None = None,
    found: Found | None = None,
    done: dict[str, Any] | None = None,
    error: ClientError | None = None,
) -> Response:
    context = {
        "me": session,
        "subject": subject,
        "found": found.summary() if found is not None else None,
        "done": done,
        "error": error,
    }
    return render(request, "privacy.html", context, error.http_status if error else 200)


async def console_page(request: Request) -> Response:
    """GET /console/privacy[?member_id=&username=&email=]: find a person's data."""
    session = await _officer(request)
    if isinstance(session, Response):
        return session
    params = request.query_params
    if not any(params.get(k) for k in ("member_id", "username", "email")):
        return await _view(request, session)
    caller = session_caller(request, session)
    try:
        subject = _subject_of(params)
    except ClientError as err:
        return await _view(request, session, error=err)
    found = await _desk(request).find(subject, actor=caller.actor, ip=caller.ip)
    return await _view(request, session, subject=subject, found=found)


async def console_export(request: Request) -> Response:
    """POST /console/privacy/export: the archive, as a download."""
    session = await _officer(request)
    if isinstance(session, Response):
        return session
    form = await checked_form(request, session)
    caller = session_caller(request, session)
    _, data = await _desk(request).export(_subject_of(form), actor=caller.actor, ip=caller.ip)
    return _zip(data, f"data-{time.strftime('%Y%m%d')}.zip")


async def console_link(request: Request) -> Response:
    """POST /console/privacy/link: a link the person opens to download their archive,
    e-mailed to them when they gave an address and e-mail is set up."""
    session = await _officer(request)
    if isinstance(session, Response):
        return session
    form = await checked_form(request, session)
    subject = _subject_of(form)
    done = await _make_link(request, session_caller(request, session), subject)
    return await _view(request, session, subject=subject, done=done)


async def _make_link(request: Request, caller: Caller, subject: Subject) -> dict[str, Any]:
    hub = _hub(request)
    secret, expires = await _desk(request).link(subject, actor=caller.actor, ip=caller.ip)
    url = f"{hub.settings.base_url}/privacy/export/{secret}"
    mailed = None
    if subject.email and hub.settings.smtp_host and hub.notifier is not None:
        text = (
            "Merhaba,\n\nkişisel verilerinizin kopyasını bu bağlantıdan indirebilirsiniz"
            f" (7 gün geçerli):\n{url}\n\n"
            "Hello,\n\nyou can download a copy of your personal data from this link"
            f" (valid for 7 days):\n{url}\n"
        )
        try:
            await hub.notifier.message(subject.email, "Verileriniz / Your data", text)
            mailed = subject.email
        except MailError:
            mailed = None
    return {"link": url, "expires": expires, "mailed": mailed}


async def console_erase(request: Request) -> Response:
    """POST /console/privacy/erase: needs a reason and the confirmation box."""
    session = await _officer(request)
    if isinstance(session, Response):
        return session
    form = await checked_form(request, session)
    try:
        subject = _subject_of(form)
        reason = form.get("reason", "").strip()[:500]
        if not reason:
            raise ClientError("field_required", "say why (the request, the law)", field="reason")
        if form.get("confirm") != "on":
            raise ClientError("not_confirmed", "tick the box to confirm", field="confirm")
        caller = session_caller(request, session)
        found, erased = await _desk(request).erase(
            subject, reason, actor=caller.actor, ip=caller.ip
        )
    except ClientError as err:
        return await _view(request, session, error=err)
    done = {"erased": erased.counts(), "requests": len(found.requests)}
    return await _view(request, session, done=done)


# -- the REST API ----------------------------------------------------------------------------


async def _api_officer(request: Request) -> Caller:
    caller = await api_caller(request)
    if not may_manage_privacy(caller.principal):
        raise AuthError(
            "forbidden", "only admins and privacy officers (admin scope) may do this", status=403
        )
    return caller


async def subjects_api(request: Request) -> JSONResponse:
    """GET /api/privacy/subjects?member_id=&username=&email=: what is kept about a person."""
    caller = await _api_officer(request)
    subject = _subject_of(request.query_params)
    found = await _desk(request).find(subject, actor=caller.actor, ip=caller.ip)
    return JSONResponse(found.summary())


async def export_api(request: Request) -> Response:
    """POST /api/privacy/subjects/export ``{member_id|username|email}``: the ZIP archive."""
    caller = await _api_officer(request)
    subject = _subject_of(await json_object(request))
    _, data = await _desk(request).export(subject, actor=caller.actor, ip=caller.ip)
    return _zip(data, "data.zip")


async def erase_api(request: Request) -> JSONResponse:
    """POST /api/privacy/subjects/erase ``{member_id|username|email, reason}``."""
    caller = await _api_officer(request)
    data = await json_object(request)
    subject = _subject_of(data)
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ClientError("field_required", "reason is required", field="reason")
    found, erased = await _desk(request).erase(
        subject, reason.strip()[:500], actor=caller.actor, ip=caller.ip
    )
    return JSONResponse({"requests": len(found.requests), "erased": erased.counts()})


async def link_api(request: Request) -> JSONResponse:
    """POST /api/privacy/subjects/link ``{member_id|username|email}``: a link for the person."""
    caller = await _api_officer(request)
    done = await _make_link(request, caller, _subject_of(await json_object(request)))
    return JSONResponse(done)


# -- the person's own link -------------------------------------------------------------------


async def player_export(request: Request) -> Response:
    """GET /privacy/export/<secret>: the archive, while the link lives. Wrong links count
    against the address like failed request lookups."""
    hub = _hub(request)
    throttle = request.app.state.lookup_throttle
    attempt = throttle.attempt({"address": client_address(request)}, "too many failed links")
    subject = await hub.store.privacy_link(token_hash(request.path_params["secret"]), time.time())
    if subject is None:
        raise NotFoundError("link_expired", "this link has expired or was never valid")
    attempt.give_back()
    _, data = await _desk(request).export(subject, actor="player", ip=client_address(request))
    return _zip(data, "data.zip")
