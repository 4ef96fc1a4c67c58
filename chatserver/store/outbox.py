"""Rows written beside what they report, in the same transaction: request history, webhook
deliveries, notifications to the player."""

from __future__ import annotations

import json
import secrets
from typing import Any

from .base import AttachmentRecord, EnqueueWebhooks

__all__ = [
    "ATTACHMENT_INSERT",
    "EVENT_INSERT",
    "FOLLOWUP_INSERT",
    "LINK_INSERT",
    "NOTIFY_INSERT",
    "WEBHOOK_INSERT",
    "attachment_row",
    "webhook_rows",
]

EVENT_INSERT = (
    "INSERT INTO request_events (number, at, actor, from_status, to_status, note, kind)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
WEBHOOK_INSERT = (
    "INSERT INTO webhook_deliveries (id, event, url, body, created_at, next_attempt_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
FOLLOWUP_INSERT = (
    "INSERT INTO request_messages (id, number, at, author, author_name, text, file_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
NOTIFY_INSERT = (
    "INSERT INTO notifications (id, number, kind, channel, recipient, subject, body,"
    " created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

LINK_INSERT = (
    "INSERT INTO request_links (token_hash, number, created_at, expires_at) VALUES (?, ?, ?, ?)"
)

ATTACHMENT_INSERT = (
    "INSERT INTO attachments (id, chat_id, name, content_type, size, sha256, storage_key,"
    " thumb_key, width, height, uploaded_by, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def attachment_row(a: AttachmentRecord) -> tuple[Any, ...]:
    return (
        a.id, a.chat_id, a.name, a.content_type, a.size, a.sha256, a.storage_key, a.thumb_key,
        a.width, a.height, a.uploaded_by, a.created_at,
    )  # fmt: skip


def webhook_rows(op: EnqueueWebhooks) -> list[tuple[Any, ...]]:
    body = json.dumps({"event": op.event, **op.body()}, ensure_ascii=False, separators=(",", ":"))
    return [
        (secrets.token_hex(12), op.event, url, body, op.created_at, op.created_at)
        for url in op.urls
    ]
