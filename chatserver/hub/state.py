"""What the hub keeps in memory about sessions, agents and live chats.

Only the live part: queued and active chats with their committed messages, the
sessions that own them or have a connection, and agents with a connection or a
chat. Everything here can be rebuilt from the store after a restart.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..core.conversation import Conversation
from ..core.limits import TokenBucket
from ..core.routing import AgentStatus
from ..store import AgentRecord
from .connection import Connection

__all__ = ["AgentPresence", "EndedChat", "LiveChat", "PlayerSession"]


@dataclass(slots=True, frozen=True)
class EndedChat:
    """The last ended chat of a session, for ``welcome`` after a reconnect."""

    chat_id: str
    request_number: str  # as shown: ABCDE-FGHJK
    last_seq: int
    by: str | None = None
    reason: str | None = None

    def frame(self) -> dict[str, Any]:
        """The ``ended`` frame announcing it."""
        out: dict[str, Any] = {
            "type": "ended",
            "chat": self.chat_id,
            "request_number": self.request_number,
            "by": self.by,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass(slots=True, eq=False)
class PlayerSession:
    id: str
    token_hash: bytes
    created_at: float
    locale: str | None
    persisted: bool = False
    conns: set[Connection] = field(default_factory=set)
    chat: LiveChat | None = None
    ended: EndedChat | None = None
    grace: asyncio.TimerHandle | None = None
    # client id of the last offline message, so a resend does not make a second request
    last_left_id: str | None = None
    followed: dict[str, object] | None = None  # the last ``following`` frame (for a resend)
    # a chat is being started (identity being checked): a second prechat must wait
    starting: bool = False
    # transcripts e-mailed for the last chat (a small cap against mail bombing)
    emails_sent: int = 0
    # frames of all the session's sockets together (chatserver.hub.frames)
    bucket: TokenBucket | None = None

    @property
    def topic(self) -> str:
        return f"session:{self.id}"


@dataclass(slots=True, eq=False)
class AgentPresence:
    record: AgentRecord
    status: AgentStatus = AgentStatus.OFFLINE
    conns: set[Connection] = field(default_factory=set)
    # chats assigned to this agent, in assignment order
    chats: dict[str, LiveChat] = field(default_factory=dict)
    grace: asyncio.TimerHandle | None = None

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def topic(self) -> str:
        return f"agent:{self.record.id}"


@dataclass(slots=True, eq=False)
class LiveChat:
    conv: Conversation
    session: PlayerSession
    # the CreateChat op has committed: the chat may be announced and counted
    created: bool = False
    # the agent who was sent `assigned` and now receives the chat's live frames
    notified_agent: int | None = None
    # last (position, eta) sent in `queued`
    last_queued: tuple[int, int | None] | None = None
    # connections waiting for the ack of a resent message that is not committed yet
    waiting: dict[int, list[tuple[Connection, str]]] = field(default_factory=dict)
    # uploads (HTTP) waiting for their message to be committed
    seq_futures: dict[int, list[asyncio.Future[int]]] = field(default_factory=dict)
    # supervisors' connections watching the chat read-only
    monitors: set[Connection] = field(default_factory=set)
    # the new agent must answer before this fires, or the chat goes to the next agent
    answer_timer: asyncio.TimerHandle | None = None
    # when each side last wrote, and when an idle player was warned
    last_player_at: float = 0.0
    last_agent_at: float = 0.0
    idle_warned_at: float | None = None
    # an agent asked supervisors to step in (why); its request starts escalated
    escalated: str | None = None

    @property
    def id(self) -> str:
        return self.conv.id

    @property
    def topic(self) -> str:
        """The agent side of the chat: its agent's consoles and monitoring supervisors."""
        return f"chat:{self.conv.id}"
