"""Reading what the stores keep: the SQL that selects a chat (with its agent's name and its
request's number) and its messages, and the records each row becomes. Both databases."""

from __future__ import annotations

from ..core.conversation import FileInfo, Message, Note, Sender
from .base import AttachmentRecord, ChatRecord, Delivery
from .tx import Row

__all__ = [
    "CHAT_COLUMNS",
    "CHAT_FROM",
    "MESSAGES",
    "attachment_of",
    "chat_record",
    "delivery_of",
    "message_of",
    "note_of",
]

CHAT_COLUMNS = """
    c.id, c.session_id, c.state, c.player_name, c.player_username, c.player_email, c.topic,
    c.locale, c.agent_id, a.name AS agent_name, c.requeued, c.created_at, c.queued_at,
    c.department, c.priority, c.member_id, c.verified_by, c.player_phone,
    c.assigned_at, c.first_response_at, c.ended_at, c.ended_by,
    (SELECT coalesce(max(seq), 0) FROM messages m WHERE m.chat_id = c.id) AS last_seq,
    coalesce(r.number, CASE WHEN c.ended_at IS NOT NULL THEN c.request_number END)
        AS request_number
"""
CHAT_FROM = """
    FROM chats c
    LEFT JOIN agents a ON a.id = c.agent_id
    LEFT JOIN requests r ON r.chat_id = c.id
"""


def chat_record(row: Row) -> ChatRecord:
    return ChatRecord(
        id=row["id"],
        session_id=row["session_id"],
        state=row["state"],
        name=row["player_name"],
        username=row["player_username"],
        email=row["player_email"],
        topic=row["topic"],
        locale=row["locale"],
        agent_id=row["agent_id"],
        agent_name=row["agent_name"],
        department=row["department"],
        priority=row["priority"],
        member_id=row["member_id"],
        verified_by=row["verified_by"],
        phone=row["player_phone"],
        created_at=row["created_at"],
        queued_at=row["queued_at"],
        assigned_at=row["assigned_at"],
        first_response_at=row["first_response_at"],
        ended_at=row["ended_at"],
        ended_by=row["ended_by"],
        last_seq=row["last_seq"],
        request_number=row["request_number"],
    )


MESSAGES = """
    SELECT m.*, f.name AS f_name, f.content_type AS f_type, f.size AS f_size,
           f.sha256 AS f_sha256, f.width AS f_width, f.height AS f_height,
           f.thumb_key AS f_thumb
    FROM messages m LEFT JOIN attachments f ON f.id = m.file_id
"""


def message_of(row: Row) -> Message:
    file = None
    if row["file_id"] is not None:
        file = FileInfo(
            id=row["file_id"],
            name=row["f_name"],
            content_type=row["f_type"],
            size=row["f_size"],
            sha256=row["f_sha256"],
            width=row["f_width"],
            height=row["f_height"],
            thumbnail=row["f_thumb"] is not None,
        )
    return Message(
        chat_id=row["chat_id"],
        seq=row["seq"],
        id=row["client_id"],
        sender=Sender(row["sender"]),
        text=row["text"],
        ts=row["ts"],
        agent_id=row["agent_id"],
        author_name=row["author_name"],
        event=row["event"],
        file=file,
    )


def attachment_of(row: Row) -> AttachmentRecord:
    return AttachmentRecord(
        id=row["id"],
        chat_id=row["chat_id"],
        name=row["name"],
        content_type=row["content_type"],
        size=row["size"],
        sha256=row["sha256"],
        storage_key=row["storage_key"],
        thumb_key=row["thumb_key"],
        width=row["width"],
        height=row["height"],
        uploaded_by=row["uploaded_by"],
        created_at=row["created_at"],
        session_id=row["session_id"] if "session_id" in row.keys() else "",
        department=row["department"] if "department" in row.keys() else "",
        chat_agent_id=row["chat_agent_id"] if "chat_agent_id" in row.keys() else None,
    )


def delivery_of(row: Row) -> Delivery:
    return Delivery(
        id=row["id"],
        event=row["event"],
        url=row["url"],
        body=row["body"],
        created_at=row["created_at"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        status=row["status"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
    )


def note_of(row: Row) -> Note:
    return Note(
        chat_id=row["chat_id"],
        id=row["client_id"],
        agent_id=row["agent_id"],
        author_name=row["author_name"],
        text=row["text"],
        after_seq=row["after_seq"],
        ts=row["ts"],
    )
