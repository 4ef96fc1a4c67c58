"""A file the player adds to their request after its chats (a receipt, a document the team
asked for): checked by content like any upload, kept on the request's last chat, and named
in the request's thread."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from ..core.conversation import clean_text
from ..core.files import check_count, safe_name
from ..core.requests import InvalidRequestNumber, parse_request_number
from ..desk.public import public_status
from ..exceptions import ClientError, NotFoundError
from ..files import Upload, keep_upload, read_upload
from ..hub import Hub
from ..hub.identify import vouched_member
from ..security import new_id
from ..store import RequestRecord
from .origins import client_address
from .tracking import by_link, lookup

__all__ = ["followup_file"]


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def _request_of(request: Request, received: Upload) -> RequestRecord:
    """The request the form names: by a notification's ``link``, or its ``number`` and the
    player's ``contact`` or the member's ``identity`` token; the same answers and limits as
    the look-up."""
    fields = received.fields
    if fields.get("link"):
        return await by_link(request, fields["link"])
    if fields.get("identity"):
        return await _members(request, fields.get("number", "")[:40], fields["identity"])
    return await lookup(request, fields.get("number", "")[:40], fields.get("contact", "")[:254])


async def _members(request: Request, number: str, token: str) -> RequestRecord:
    """A signed-in member's request: the token checked as for a pre-chat (failures count
    per address), and another member's request answered like an unknown number."""
    hub = _hub(request)
    member = vouched_member(hub, {"address": client_address(request)}, token)
    try:
        rec = await hub.store.request(parse_request_number(number))
    except InvalidRequestNumber:
        rec = None
    if rec is None or member.member_id not in {c.member_id for c in rec.chats}:
        raise NotFoundError(
            "request_not_found", "no request matches this number and e-mail or username"
        )
    return rec


async def followup_file(request: Request) -> JSONResponse:
    """POST /api/requests/followup/files: multipart ``number`` and ``contact`` (or
    ``identity``, or ``link``), an optional ``text``, and one ``file``. Answers the request
    as the player sees it."""
    hub = _hub(request)
    files = hub.files
    if files is None or hub.desk is None:  # pragma: no cover - the app always sets both
        raise ClientError("files_unavailable", "this server does not keep files", status=503)
    received = await read_upload(request, files, hub.settings.max_file_bytes)
    try:
        rec = await _request_of(request, received)
        added = sum(1 for f in rec.followups if f.file_id)
        check_count(added, hub.settings.max_files_per_chat)
        text = clean_text(received.fields.get("text", "")).strip()
        if len(text) > hub.settings.max_message_chars:
            raise ClientError("message_too_long", "this text is too long", field="text")
    except BaseException:
        received.path.unlink(missing_ok=True)
        raise
    kept = await keep_upload(
        received, files, hub.settings.upload_types, hub.pools.images, hub.settings.max_image_pixels
    )
    last = rec.chats[-1] if rec.chats else rec.chat
    name = safe_name(received.name, kept.content_type)
    attachment = kept.record(new_id("f_"), last.id, name, "player", hub.clock())
    try:
        rec = await hub.desk.follow_up(rec.number, text, attachment)
    except BaseException:
        for key in (kept.key, kept.thumb_key):
            if key is not None:
                files.delete(key)
        raise
    return JSONResponse(public_status(rec), status_code=201)
