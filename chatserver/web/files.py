"""Uploading files into a chat and downloading them.

- Players send their chat session: ``Authorization: Session <resume token>``
  (never in a URL). They may upload into their live chat and download their own
  chats' files.
- Agents send an API token, or the console's cookie (uploads then also need the
  ``X-CSRF-Token`` header). They may upload into chats assigned to them, and download the
  files of the requests the access policy lets them see (``privacy.policy``: 404 for the
  rest); each download leaves an audit entry.

Every download is an attachment (thumbnails are shown inline) with
``X-Content-Type-Options: nosniff`` and a CSP that lets nothing run.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..core.conversation import ChatState, Sender
from ..core.files import check_count, content_disposition, safe_name
from ..exceptions import AuthError, ClientError, NotFoundError, StateError, StoreError
from ..files import keep_upload, read_upload
from ..hub import Hub
from ..hub.state import AgentPresence, LiveChat
from ..protocol import file_dict
from ..security import new_id, token_hash
from .access import api_caller, visible_file
from .api import api_agent
from .auth import credential

__all__ = ["download", "upload"]

log = logging.getLogger("chatserver.files")

_COMMIT_WAIT = 30.0
_DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, max-age=300",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def _uploader(request: Request) -> tuple[LiveChat, Sender, AgentPresence | None]:
    hub = _hub(request)
    chat_id = request.path_params["chat"]
    token = credential(request, "session")
    if token is not None:
        session = hub.by_token.get(token_hash(token))
        live = session.chat if session is not None else None
        if live is None or live.id != chat_id:
            raise NotFoundError("chat_not_found", "this is not your chat in progress")
        sender, presence = Sender.PLAYER, None
    else:
        record = await api_agent(request)
        live = hub.chats.get(chat_id)
        presence = hub.agents.get(record.id)
        if live is None or presence is None or live.notified_agent != record.id:
            raise StateError("not_your_chat", "this chat is not assigned to you", status=403)
        sender = Sender.AGENT
    if live.conv.state is ChatState.ENDED:
        raise StateError("wrong_state", "this chat has ended")
    return live, sender, presence


async def upload(request: Request) -> Response:
    """POST /api/chats/{chat}/files: one multipart ``file`` part, an optional ``id`` field."""
    hub = _hub(request)
    files = hub.files
    if files is None:  # pragma: no cover - the app always sets one
        raise ClientError("files_unavailable", "this server does not keep files", status=503)
    live, sender, presence = await _uploader(request)
    check_count(live.conv.file_count, hub.settings.max_files_per_chat)
    received = await read_upload(request, files, hub.settings.max_file_bytes)
    client_id = received.fields.get("id") or new_id("u_")
    if not 1 <= len(client_id) <= 64:
        received.path.unlink(missing_ok=True)
        raise ClientError("invalid_field", "id must be 1-64 characters", field="id")
    kept = await keep_upload(
        received, files, hub.settings.upload_types, hub.pools.images, hub.settings.max_image_pixels
    )
    name = safe_name(received.name, kept.content_type)
    try:
        future, new = hub.post_file(live, sender, client_id, name, kept, agent=presence)
    except ClientError:
        _forget(hub, kept.key, kept.thumb_key)
        raise
    if not new:  # a resend: the first upload is the one kept
        _forget(hub, kept.key, kept.thumb_key)
    seq = await asyncio.wait_for(future, _COMMIT_WAIT)
    msg = live.conv.message(seq)
    body: dict[str, Any] = {"id": client_id, "seq": seq}
    if msg is not None and msg.file is not None:
        body["file"] = file_dict(msg.file)
    return JSONResponse(body, status_code=201 if new else 200)


def _forget(hub: Hub, *keys: str | None) -> None:
    assert hub.files is not None
    for key in keys:
        if key is not None:
            hub.files.delete(key)


async def download(request: Request) -> Response:
    """GET /api/files/{file}[/thumbnail]: for the chat's player and for agents."""
    hub = _hub(request)
    token = credential(request, "session")
    if token is not None:
        rec = await hub.store.attachment(request.path_params["file"])
        session = await hub.find_session(token)
        if rec is None or session is None or session.id != rec.session_id:
            raise NotFoundError("file_not_found", "no such file in your chats")
    else:
        try:
            caller = await api_caller(request)
        except AuthError as err:
            if err.code != "auth_required":
                raise  # a token was sent and is wrong: invalid_token, as elsewhere
            raise AuthError(
                "auth_required", "send your chat session or an API token to download files"
            ) from None
        rec = await visible_file(request, caller, request.path_params["file"])
    if not rec.storage_key:
        raise NotFoundError("file_not_found", "this file was erased")
    thumbnail = request.url.path.endswith("/thumbnail")
    key = rec.thumb_key if thumbnail else rec.storage_key
    if key is None or hub.files is None:
        raise NotFoundError("file_not_found", "this file has no thumbnail")
    try:
        body = await hub.pools.files.run(hub.files.read, key)
    except (FileNotFoundError, ValueError):
        raise NotFoundError("file_not_found", "the file is missing from the store") from None
    except StoreError as exc:  # altered on disk, or under a key no longer configured
        log.error("cannot read file %s: %s", rec.id, exc)
        raise ClientError("file_damaged", "the stored file cannot be read", status=500) from None
    media = "image/jpeg" if thumbnail else rec.content_type
    if media == "text/plain":
        media = "text/plain; charset=utf-8"
    name = f"thumbnail-{rec.id}.jpg" if thumbnail else rec.name
    disposition = content_disposition("inline" if thumbnail else "attachment", name)
    return Response(
        body,
        media_type=media,
        headers={**_DOWNLOAD_HEADERS, "Content-Disposition": disposition},
    )
