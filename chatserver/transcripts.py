"""A request's transcript as data, plain text and a printable HTML page.

Agents get internal notes (marked); players never do. Attachments are listed with
name, size, SHA-256 and a link (which needs an agent's credentials or, for the
player, their chat session).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .core.requests import format_request_number
from .protocol import message_dict, note_dict
from .store import AttachmentRecord, RequestRecord

__all__ = ["as_html", "as_json", "as_text", "entries"]

_env = Environment(
    loader=FileSystemLoader(Path(str(files("chatserver.console"))) / "templates"),
    autoescape=select_autoescape(["html"]),
)


def when(t: float | None) -> str:
    """Epoch seconds (or milliseconds) as UTC, for people."""
    if t is None:
        return "–"
    seconds = t / 1000 if t > 10**11 else t
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def entries(rec: RequestRecord, *, internal: bool) -> list[dict[str, Any]]:
    """Messages and (for agents) internal notes, in conversation order, chat by chat."""
    order = {c.id: i for i, c in enumerate(rec.chats)}
    out: list[tuple[tuple[int, int, int, int], dict[str, Any]]] = [
        ((order.get(m.chat_id, 0), m.seq, 0, m.ts), {**message_dict(m), "internal": False})
        for m in rec.messages
    ]
    if internal:
        out += [
            (
                (order.get(n.chat_id, 0), n.after_seq, 1, n.ts),
                {**note_dict(n), "from": "note", "internal": True},
            )
            for n in rec.notes
        ]
    return [e for _, e in sorted(out, key=lambda pair: pair[0])]


def _attachment(a: AttachmentRecord, base_url: str) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "url": f"{base_url}/api/files/{a.id}",
    }


def as_json(rec: RequestRecord, *, internal: bool, base_url: str = "") -> str:
    body = {
        "number": format_request_number(rec.number),
        "status": rec.status,
        "topic": rec.chat.topic,
        "transcript": entries(rec, internal=internal),
        "attachments": [_attachment(a, base_url) for a in rec.attachments],
    }
    return json.dumps(body, ensure_ascii=False, indent=2)


def as_text(rec: RequestRecord, *, internal: bool) -> str:
    number = format_request_number(rec.number)
    lines = [f"Request {number} - topic {rec.chat.topic}", ""]
    for e in entries(rec, internal=internal):
        who = e.get("name") or e["from"]
        if e["internal"]:
            who = f"[internal note] {e['agent']['name']}"
        text = e["text"]
        f = e.get("file")
        if f:
            text = f"[file] {f['name']} ({f['size']} bytes, sha256 {f['sha256']})"
        lines.append(f"{when(e['ts'])}  {who}: {text}")
    if rec.attachments:
        lines += ["", "Attachments:"]
        lines += [f"- {a.name} ({a.size} bytes) sha256 {a.sha256}" for a in rec.attachments]
    return "\n".join(lines) + "\n"


def as_html(rec: RequestRecord, *, internal: bool, base_url: str = "") -> str:
    """A page that prints well (no scripts, no outside resources)."""
    return _env.get_template("transcript_print.html").render(
        rec=rec,
        number=format_request_number(rec.number),
        entries=entries(rec, internal=internal),
        attachments=[_attachment(a, base_url) for a in rec.attachments],
        internal=internal,
        when=when,
    )
