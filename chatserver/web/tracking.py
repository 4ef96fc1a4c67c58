"""Requests after their chat: status changes, transcripts, and the player's lookup.

Status changes follow ``core.requests`` (open, pending, resolved, closed; closed
and resolved may be reopened), are recorded with who and when, notify the player
by e-mail and the ticket system by webhook. The player's lookup answers a wrong
e-mail or username exactly like an unknown number, and failed lookups are limited
per address.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .. import transcripts
from ..core.conversation import clean_text
from ..core.requests import InvalidRequestNumber, format_request_number, parse_request_number
from ..desk.public import iso, public_status
from ..exceptions import ClientError, NotFoundError
from ..hub import Hub
from ..security import token_hash
from ..store import AgentRecord, RequestRecord
from ..throttle import FailureThrottle
from .access import api_caller, audit, visible_request
from .api import request_json
from .auth import secure_headers
from .errors import json_object
from .origins import client_address
from .pages import render

__all__ = [
    "EXPORTS",
    "change_status",
    "lookup_api",
    "by_link",
    "link_page",
    "lookup_page",
    "request_files",
    "request_transcript",
    "set_status",
    "transcript_response",
]

_LOOKUP_FAILED = "no request matches this number and e-mail or username"

EXPORTS = {
    "json": "application/json",
    "txt": "text/plain; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def transcript_response(
    rec: RequestRecord, fmt: str, request: Request, *, download: bool
) -> Response:
    """A transcript (agents' view, notes included) in one of the export formats."""
    base = _hub(request).settings.base_url
    if fmt == "json":
        body = transcripts.as_json(rec, internal=True, base_url=base)
    elif fmt == "txt":
        body = transcripts.as_text(rec, internal=True)
    else:
        body = transcripts.as_html(rec, internal=True, base_url=base)
    headers = {}
    if download:
        name = f"request-{format_request_number(rec.number)}.{fmt}"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response = Response(body, media_type=EXPORTS[fmt], headers=headers)
    secure_headers(response)
    # a printed transcript needs its inline styles, nothing else
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"
    )
    return response


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def change_status(
    hub: Hub, raw_number: str, wanted: str, agent: AgentRecord, note: str | None
) -> RequestRecord:
    """Move a request to a new status through its lifecycle (``chatserver.desk``): recorded,
    the player told by e-mail and SMS, the ticket system by webhook, in one transaction."""
    assert hub.desk is not None
    return await hub.desk.change_status(
        raw_number, wanted, actor=f"{agent.name} (agent {agent.id})", changed_by=agent.name,
        note=note,
    )  # fmt: skip


async def set_status(request: Request) -> JSONResponse:
    """POST /api/requests/{number}/status ``{"status", "note"?}``."""
    caller = await api_caller(request)
    agent = caller.agent
    try:
        data = await request.json()
    except ValueError:
        raise ClientError("bad_json", "send a JSON object") from None
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        raise ClientError("invalid_field", "status is required", field="status")
    note = data.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 2000):
        raise ClientError("invalid_field", "note is text up to 2000 characters", field="note")
    await visible_request(
        request, caller, request.path_params["number"], scope="requests:write", action=None
    )
    rec = await change_status(
        _hub(request), request.path_params["number"], data["status"], agent, note or None
    )
    await audit(request, caller, "request.status", rec.number, {"status": rec.status})
    return JSONResponse(request_json(rec))


async def request_transcript(request: Request) -> Response:
    """GET /api/requests/{number}/transcript?format=json|txt|html."""
    caller = await api_caller(request)
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "txt", "html"):
        raise ClientError("invalid_field", "format is json, txt or html", field="format")
    rec = await visible_request(
        request, caller, request.path_params["number"], action="transcript.export"
    )
    return transcript_response(rec, fmt, request, download=False)


async def request_files(request: Request) -> JSONResponse:
    """GET /api/requests/{number}/files: the chat's attachments."""
    caller = await api_caller(request)
    hub = _hub(request)
    rec = await visible_request(request, caller, request.path_params["number"])
    base = hub.settings.base_url
    return JSONResponse(
        {
            "files": [
                {
                    "id": a.id,
                    "name": a.name,
                    "type": a.content_type,
                    "size": a.size,
                    "sha256": a.sha256,
                    "uploaded_by": a.uploaded_by,
                    "created_at": iso(a.created_at),
                    "url": f"{base}/api/files/{a.id}",
                }
                for a in rec.attachments
            ]
        }
    )


def _throttle(request: Request) -> FailureThrottle:
    throttle: FailureThrottle = request.app.state.lookup_throttle
    return throttle


async def lookup(request: Request, number: str, contact: str) -> RequestRecord:
    """The request if the pair is right; one answer for every kind of wrong."""
    try:
        canonical: str | None = parse_request_number(number)
    except InvalidRequestNumber:
        canonical = None
    keys = {"address": client_address(request), "request": canonical or number.upper()}
    attempt = _throttle(request).attempt(keys, "too many failed lookups")
    rec = None
    if canonical is not None and contact.strip():
        rec = await _hub(request).store.lookup_request(canonical, contact)
    if rec is None:
        raise NotFoundError("request_not_found", _LOOKUP_FAILED)  # the attempt stays counted
    attempt.give_back()
    return rec


async def by_link(
    request: Request, secret: str, message: str = "this link has expired"
) -> RequestRecord:
    """The request a notification's link opens while it lasts; ``link_expired`` after, and
    failed links count per address."""
    hub = _hub(request)
    keys = {"address": client_address(request)}
    attempt = _throttle(request).attempt(keys, "too many failed links")
    number = await hub.store.request_by_link(token_hash(secret[:200]), hub.clock())
    rec = await hub.store.request(number) if number else None
    if rec is None:  # the attempt stays counted
        raise NotFoundError("link_expired", message)
    attempt.give_back()
    return rec


def follow_up_text(raw: object, limit: int) -> str:
    """A follow-up's text: control characters out, not blank, at most ``limit``."""
    text = clean_text(raw).strip() if isinstance(raw, str) else ""
    if not text:
        raise ClientError("empty_message", "write something first", field="text")
    if len(text) > limit:
        raise ClientError("message_too_long", f"at most {limit} characters", field="text")
    return text


async def follow_up_api(request: Request) -> JSONResponse:
    """POST /api/requests/followup ``{"number", "contact", "text"}``: the player writes on
    their request; the same answer as a look-up for a wrong pair."""
    data, number, contact = await _number_and_contact(request)
    hub = _hub(request)
    text = follow_up_text(data.get("text"), hub.settings.max_message_chars)
    rec = await lookup(request, number, contact)
    assert hub.desk is not None
    rec = await hub.desk.follow_up(rec.number, text)
    return JSONResponse(public_status(rec), status_code=201)


async def lookup_api(request: Request) -> JSONResponse:
    """POST /api/requests/lookup ``{"number", "contact"}`` (contact: e-mail or username)."""
    _, number, contact = await _number_and_contact(request)
    return JSONResponse(public_status(await lookup(request, number, contact)))


async def _number_and_contact(request: Request) -> tuple[dict[str, object], str, str]:
    """The body, with the request number and the player's contact it must carry (cut to
    what they can be)."""
    data = await json_object(request)
    number, contact = data.get("number"), data.get("contact")
    if not isinstance(number, str) or not isinstance(contact, str):
        raise ClientError("invalid_field", "number and contact are required", field="number")
    return data, number[:40], contact[:254]


_LABELS = {
    "tr": {
        "title": "Talep sorgulama",
        "number": "Talep numarası",
        "contact": "E-posta veya kullanıcı adı",
        "submit": "Sorgula",
        "status": "Durum",
        "history": "Geçmiş",
        "messages": "Yazışma",
        "write": "Talebinize bir mesaj ekleyin",
        "send": "Gönder",
        "you": "Siz",
        "not_found": "Bu numara ve e-posta ya da kullanıcı adıyla eşleşen bir talep bulunamadı.",
        "expired": "Bu bağlantının süresi dolmuş. Talep numaranız ve e-postanızla sorgulayın.",
        "open": "Açık",
        "pending": "Bilgi bekleniyor",
        "awaiting_confirmation": "Onayınız bekleniyor",
        "escalated": "Yöneticiye iletildi",
        "resolved": "Çözüldü",
        "closed": "Kapatıldı",
    },
    "en": {
        "title": "Follow your request",
        "number": "Request number",
        "contact": "E-mail or username",
        "submit": "Look up",
        "status": "Status",
        "history": "History",
        "messages": "Messages",
        "write": "Add a message to your request",
        "send": "Send",
        "you": "You",
        "not_found": "No request matches this number and e-mail or username.",
        "expired": "This link has expired. Look up your request with its number and e-mail.",
        "open": "Open",
        "pending": "Waiting for information",
        "awaiting_confirmation": "Waiting for your confirmation",
        "escalated": "Passed to a supervisor",
        "resolved": "Resolved",
        "closed": "Closed",
    },
}


async def lookup_page(request: Request) -> Response:
    """GET/POST /requests/lookup: the player's page (``?lang=en`` for English)."""
    lang = request.query_params.get("lang", "tr")
    labels = _LABELS.get(lang, _LABELS["tr"])
    context: dict[str, Any] = {
        "t": labels,
        "lang": lang,
        "number": "",
        "contact": "",
        "result": None,
        "error": None,
    }
    status = 200
    if request.method == "POST":
        form = await request.form()
        number = str(form.get("number") or "")[:40]
        contact = str(form.get("contact") or "")[:254]
        context["number"] = number
        context["contact"] = contact
        try:
            rec = await _write_on(request, await lookup(request, number, contact), form)
            context["result"] = public_status(rec)
        except ClientError as err:
            context["error"] = (
                labels["not_found"] if err.code == "request_not_found" else err.message
            )
            status = err.http_status
    return render(request, "lookup.html", context, status)


async def _write_on(request: Request, rec: RequestRecord, form: Any) -> RequestRecord:
    """A follow-up from the page, if its form carries one."""
    if not str(form.get("text") or "").strip():
        return rec
    hub = _hub(request)
    text = follow_up_text(form.get("text"), hub.settings.max_message_chars)
    assert hub.desk is not None
    return await hub.desk.follow_up(rec.number, text)


async def link_page(request: Request) -> Response:
    """GET/POST /requests/view/<secret>: the request a notification's link opens, without
    its number and contact, while the link lasts (``request_link_days``)."""
    lang = request.query_params.get("lang", "tr")
    labels = _LABELS.get(lang, _LABELS["tr"])
    context: dict[str, Any] = {"t": labels, "lang": lang, "result": None, "error": None}
    context["link"] = request.url.path
    try:
        rec = await by_link(request, request.path_params["secret"], labels["expired"])
        if request.method == "POST":
            rec = await _write_on(request, rec, await request.form())
        context["result"] = public_status(rec)
        status = 200
    except ClientError as err:
        context["error"] = err.message
        status = err.http_status
    return render(request, "lookup.html", context, status)
