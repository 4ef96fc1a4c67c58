"""A file the player adds to their request after its chats (a receipt, a document the team
asked for): checked by content like any upload, kept on the request's last chat, and named
in the request's thread."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from ..core.conversation import clean_text
from ..core.files import check_count, safe_name
from ..desk.public import public_status
from ..exceptions import ClientError
from ..files import Kept, Upload, keep_upload, read_upload
from ..hub import Hub
from ..security import new_id
from ..store import AttachmentRecord, RequestRecord
from .tracking import by_link, lookup

__all__ = ["followup_file"]


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def _request_of(request: Request, received: Upload) -> RequestRecord:
    """The request the form names: by a notification's ``link``, or its ``number`` and the
    player's ``contact``; the same answers and limits as the look-up."""
    fields = received.fields
    if fields.get("link"):
        return await by_link(request, fields["link"])
    return await lookup(request, fields.get("number", "")[:40], fields.get("contact", "")[:254])


async def followup_file(request: Request) -> JSONResponse:
    """POST /api/requests/followup/files: multipart ``number`` and ``contact`` (or ``link``),
    an optional ``text``, and one ``file``. Answers the request as the player sees it."""
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
    attachment = _attachment(kept, safe_name(received.name, kept.content_type), last.id, hub)
    try:
        rec = await hub.desk.follow_up(rec.number, text, attachment)
    except BaseException:
        for key in (kept.key, kept.thumb_key):
            if key is not None:
                files.delete(key)
        raise
    return JSONResponse(public_status(rec), status_code=201)


def _attachment(kept: Kept, name: str, chat_id: str, hub: Hub) -> AttachmentRecord:
    return AttachmentRecord(
        id=new_id("f_"),
        chat_id=chat_id,
        name=name,
        content_type=kept.content_type,
        size=kept.size,
        sha256=kept.sha256,
        storage_key=kept.key,
        thumb_key=kept.thumb_key,
        width=kept.width,
        height=kept.height,
        uploaded_by="player",
        created_at=hub.clock(),
    )
