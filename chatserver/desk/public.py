"""What a player may see of their request: its status, its history of statuses, what was
written on it after its chats, and (in the widget) its chats' messages. Never internal notes,
never who changed what."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..core.conversation import Sender
from ..core.requests import format_request_number
from ..protocol import message_dict
from ..store import AttachmentRecord, RequestRecord

__all__ = ["TRANSCRIPT_MAX", "iso", "public_status"]

TRANSCRIPT_MAX = 200  # messages of its chats a player's view of a request carries


def iso(t: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with milliseconds, as the REST API shows times."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def public_status(rec: RequestRecord, *, transcript: bool = False) -> dict[str, Any]:
    """The player's view of ``rec``; with ``transcript``, its chats' messages too."""
    files = {a.id: a for a in rec.attachments}
    out: dict[str, Any] = {
        "number": format_request_number(rec.number),
        "status": rec.status,
        "topic": rec.chat.topic,
        "created_at": iso(rec.created_at),
        "updated_at": iso(rec.updated_at),
        "history": [
            {"status": e.to_status, "at": iso(e.at)} for e in rec.events if e.kind == "status"
        ],
        # what was written on the request after its chat (agents by name, never notes)
        "messages": [
            {
                "from": "player" if f.author == "player" else "agent",
                "name": f.author_name,
                "text": f.text,
                "at": iso(f.at),
            }
            | ({"file": _file(files[f.file_id])} if f.file_id in files else {})
            for f in rec.followups
        ],
    }
    if transcript:  # its latest messages: a frame of bounded size, whatever the chats
        said = [m for m in rec.messages if m.sender is not Sender.SYSTEM]
        out["transcript_complete"] = len(said) <= TRANSCRIPT_MAX
        said = said[-TRANSCRIPT_MAX:]
        out["transcript"] = [
            {k: v for k, v in message_dict(m).items() if k in ("from", "name", "text", "ts")}
            | ({"file": m.file.name} if m.file is not None else {})
            for m in said
        ]
    return out


def _file(a: AttachmentRecord) -> dict[str, Any]:
    return {"name": a.name, "type": a.content_type, "size": a.size}
