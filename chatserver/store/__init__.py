"""Persistence behind the small ``Store`` interface; SQLite is the embedded default."""

from __future__ import annotations

from ..config import Settings
from ..exceptions import ConfigError
from ..security import safe_url
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
    "database_label",
    "make_store",
]


def database_label(settings: Settings) -> str:
    """Where the data is, for people: the PostgreSQL address without its password, or the file."""
    return safe_url(settings.database_url) if settings.database_url else str(settings.db)


def make_store(settings: Settings) -> Store:
    """The store the settings ask for (not yet opened): PostgreSQL when ``database_url``
    names one, else the SQLite file ``db``."""
    url = settings.database_url
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ConfigError(
                "CHATSERVER_DATABASE_URL: only postgresql://user@host:port/name is supported"
                " (leave it empty for the SQLite file in CHATSERVER_DB)"
            )
        from .postgres import PostgresStore  # asyncpg is needed only here

        return PostgresStore(url)
    return SqliteStore(settings.db, synchronous=settings.sqlite_synchronous)
