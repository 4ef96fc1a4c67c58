"""Persistence behind the small ``Store`` interface; SQLite is the embedded default."""

from __future__ import annotations

from ..config import Settings
from .base import (
    AddAttachment,
    AgentRecord,
    AppendMessage,
    AppendNote,
    AttachmentRecord,
    CannedResponse,
    ChatRecord,
    ConsoleSession,
    CreateChat,
    CreateRequest,
    CreateSession,
    Delivery,
    EnqueueWebhooks,
    FloorStats,
    Op,
    RateRequest,
    RecordRefusal,
    RequestEvent,
    RequestRecord,
    RequestSummary,
    SaveChat,
    SessionRecord,
    Store,
)
from .sqlite import SqliteStore

__all__ = [
    "AddAttachment",
    "AgentRecord",
    "AttachmentRecord",
    "Delivery",
    "EnqueueWebhooks",
    "RequestEvent",
    "AppendMessage",
    "AppendNote",
    "CannedResponse",
    "ConsoleSession",
    "FloorStats",
    "RequestSummary",
    "ChatRecord",
    "CreateChat",
    "CreateRequest",
    "CreateSession",
    "Op",
    "RateRequest",
    "RecordRefusal",
    "RequestRecord",
    "SaveChat",
    "SessionRecord",
    "SqliteStore",
    "Store",
    "make_store",
]


def make_store(settings: Settings) -> Store:
    """The store the settings ask for (not yet opened)."""
    return SqliteStore(settings.db, synchronous=settings.sqlite_synchronous)
