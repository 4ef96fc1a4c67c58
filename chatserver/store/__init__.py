"""Persistence behind the small ``Store`` interface; SQLite is the embedded default."""

from __future__ import annotations

from ..config import Settings
from .base import (
    AgentRecord,
    AppendMessage,
    AppendNote,
    CannedResponse,
    ChatRecord,
    ConsoleSession,
    CreateChat,
    CreateRequest,
    CreateSession,
    FloorStats,
    Op,
    RateRequest,
    RecordRefusal,
    RequestRecord,
    RequestSummary,
    SaveChat,
    SessionRecord,
    Store,
)
from .sqlite import SqliteStore

__all__ = [
    "AgentRecord",
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
