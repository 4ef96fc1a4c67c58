"""Data-subject requests: find everything about a person, export it as one archive, erase it.

- ``find`` gathers the person's chats (by member id, username or e-mail, any case) with their
  requests, messages, notes, files, ratings and history, their refusals, their row in the
  member directory, and the audit entries about their requests and files.
- ``archive`` builds a ZIP (``subject.json``, a readable ``summary.html``, ``files/``) on a
  pool: nothing about anyone else goes in, since only the person's own chats are read.
- ``erase`` blanks the person's fields, every message and note of their chats, their file
  names, and deletes the files; request numbers, statuses, times and ratings stay, as do
  the reports' anonymous sums. Then the database is scrubbed (``Store.scrub``) so the old
  values are not left in its files either. A chat still going is refused.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from jinja2 import Environment, select_autoescape

from ..core.files import safe_name
from ..core.requests import format_request_number
from ..exceptions import ClientError, StateError
from ..store import AttachmentRecord, RequestRecord, Store
from ..store.privacy import Erased, Subject
from .audit import AuditEntry

__all__ = ["Found", "Subject", "archive", "check_subject", "erase", "find"]


@dataclass(slots=True)
class Found:
    subject: Subject
    requests: list[RequestRecord] = field(default_factory=list)
    live: list[str] = field(default_factory=list)  # chats not ended yet
    refusals: list[dict[str, Any]] = field(default_factory=list)
    member: dict[str, Any] | None = None
    audit: list[AuditEntry] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    @property
    def chat_ids(self) -> list[str]:
        return [c.id for r in self.requests for c in (r.chats or [r.chat])] + self.live

    def summary(self) -> dict[str, Any]:
        return {
            "requests": [
                {
                    "number": format_request_number(r.number),
                    "status": r.status,
                    "topic": r.chat.topic,
                    "department": r.chat.department,
                    "created_at": r.created_at,
                    "messages": len(r.messages),
                    "notes": len(r.notes),
                    "files": len(r.attachments),
                    "erased": not r.chat.name and not r.chat.email and not r.chat.username,
                }
                for r in self.requests
            ],
            "chats_in_progress": len(self.live),
            "refusals": len(self.refusals),
            "member": self.member is not None,
            "audit_entries": len(self.audit),
            "notifications": len(self.notifications),
        }


def check_subject(member_id: str | None, username: str | None, email: str | None) -> Subject:
    """A subject from a form or a query; ClientError if nothing names them."""
    subject = Subject(
        (member_id or "").strip()[:200] or None,
        (username or "").strip()[:200] or None,
        (email or "").strip()[:254] or None,
    )
    if not subject:
        raise ClientError(
            "subject_required", "give a member id, a username or an e-mail", field="email"
        )
    return subject


async def find(store: Store, subject: Subject) -> Found:
    found = Found(subject)
    numbers: set[str] = set()
    for chat_id, number, state in await store.subject_chats(subject):
        if state != "ended":  # (a live chat on an older request too)
            found.live.append(chat_id)
        elif number and number not in numbers:  # a request of several chats: once
            numbers.add(number)
            rec = await store.request(number)
            if rec is not None:
                found.requests.append(rec)
    for r in found.requests:
        found.notifications.extend(await store.notifications_of(r.number))
    found.refusals = await store.subject_refusals(subject)
    found.member = await store.subject_member(subject)
    targets = {r.number for r in found.requests} | {
        a.id for r in found.requests for a in r.attachments
    }
    for target in sorted(targets):
        found.audit.extend(await store.audit_search(target=target, limit=1000))
    found.audit.sort(key=lambda e: e.seq)
    return found


def _attachment(a: AttachmentRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "uploaded_by": a.uploaded_by,
        "created_at": a.created_at,
        "file": f"files/{a.id}-{safe_name(a.name, a.content_type)}" if a.storage_key else None,
    }


def _request(r: RequestRecord) -> dict[str, Any]:
    c = r.chat
    return {
        "number": format_request_number(r.number),
        "status": r.status,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "chat": {
            "id": c.id,
            "topic": c.topic,
            "department": c.department,
            "language": c.locale,
            "name": c.name,
            "username": c.username,
            "email": c.email,
            "member_id": c.member_id,
            "phone": c.phone,
            "created_at": c.created_at,
            "ended_at": c.ended_at,
            "agent": c.agent_name,
        },
        "messages": [
            {
                "seq": m.seq,
                "from": m.sender.value,
                "name": m.author_name,
                "text": m.text,
                "ts": m.ts / 1000,
            }
            for m in r.messages
        ],  # fmt: skip
        "notes": [{"by": n.author_name, "text": n.text, "ts": n.ts / 1000} for n in r.notes],
        "satisfaction": None
        if r.rating is None
        else {
            "resolved": r.resolved,
            "rating": r.rating,
            "comment": r.rating_comment,
            "nps": r.nps,
        },
        "resolution": r.resolution,
        "history": [
            {"at": e.at, "from": e.from_status, "to": e.to_status, "note": e.note} for e in r.events
        ],
        "attachments": [_attachment(a) for a in r.attachments],
    }


_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_SUMMARY = resources.files("chatserver.privacy").joinpath("summary.html").read_text("utf-8")


def archive(found: Found, read: Callable[[str], bytes], now: float | None = None) -> bytes:
    """The ZIP of everything found (blocking: run it on a pool). ``read`` gives a kept
    file's bytes by its storage key."""
    made = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now or time.time()))
    requests = [_request(r) for r in found.requests]
    body = {
        "subject": {
            "member_id": found.subject.member_id,
            "username": found.subject.username,
            "email": found.subject.email,
        },
        "made_at": made,
        "requests": requests,
        "refusals": found.refusals,
        "member": found.member,
        "notifications": found.notifications,
        "audit": [{k: v for k, v in e.public().items() if k not in ("hash",)} for e in found.audit],
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("subject.json", json.dumps(body, ensure_ascii=False, indent=2, default=str))
        page = _env.from_string(_SUMMARY).render(
            made=made, requests=requests, refusals=found.refusals, member=found.member
        )
        z.writestr("summary.html", page)
        for r in found.requests:
            for a in r.attachments:
                if not a.storage_key:
                    continue
                try:
                    data = read(a.storage_key)
                except FileNotFoundError:
                    continue
                z.writestr(f"files/{a.id}-{safe_name(a.name, a.content_type)}", data)
    return out.getvalue()


async def erase(store: Store, found: Found, now: float) -> Erased:
    """Erase what ``find`` found (StateError while a chat goes on); returns what went,
    with the file keys to delete."""
    if found.live:
        raise StateError(
            "subject_in_chat", "this person has a chat in progress: erase after it ends"
        )
    erased = await store.erase_subject(found.subject, found.chat_ids, now)
    return erased
