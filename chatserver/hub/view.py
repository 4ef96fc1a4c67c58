"""What the hub's helpers (the queue's waiting times, supervision) may see of it: a narrow
view, so they need not import the hub, and nothing imports in a circle."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from ..bus import Bus
from ..config import Settings
from ..core.routing import Router
from ..desk.desk import RequestDesk
from ..store import Store
from .connection import Connection
from .state import AgentPresence, LiveChat

__all__ = ["HubView"]


class HubView(Protocol):
    settings: Settings
    store: Store
    router: Router
    bus: Bus
    clock: Callable[[], float]
    chats: dict[str, LiveChat]
    agents: dict[int, AgentPresence]
    desk: RequestDesk | None

    @property
    def loop_or_none(self) -> asyncio.AbstractEventLoop | None: ...

    def chat_summary(self, live: LiveChat, after_seq: int = 0) -> dict[str, Any]: ...

    def subscribe(self, conn: Connection, topic: str) -> None: ...

    def unsubscribe(self, conn: Connection, topic: str) -> None: ...
