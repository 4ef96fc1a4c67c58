"""Frames from agents (``/ws/agent``): authenticate, then work on assigned chats.

An agent authenticates with an API token in ``hello``. A chat that is not
assigned to the agent gets ``not_your_chat`` whether or not it exists.
"""

from __future__ import annotations

from ..core.conversation import Sender
from ..core.routing import AgentStatus
from ..exceptions import AuthError, StateError
from ..protocol import (
    AgentEnd,
    AgentFrame,
    AgentHello,
    AgentMessage,
    AgentStatusFrame,
    AgentTyping,
    decode_agent,
    encode,
)
from ..security import token_hash
from ..store import AgentRecord
from .connection import Connection
from .frames import check_text, check_version, process_frame
from .hub import Hub
from .state import AgentPresence, LiveChat

__all__ = ["handle_agent_frame"]


async def handle_agent_frame(hub: Hub, conn: Connection, text: str) -> None:
    """Handle one text frame from an agent connection."""
    await process_frame(hub, conn, text, decode_agent, _dispatch)


async def _dispatch(hub: Hub, conn: Connection, frame: AgentFrame) -> None:
    if isinstance(frame, AgentHello):
        await _hello(hub, conn, frame)
        return
    agent = conn.agent
    if agent is None:
        raise StateError("hello_required", "send hello first")
    if isinstance(frame, AgentMessage):
        live = _own_chat(hub, agent, frame.chat, frame.id)
        body = check_text(hub, frame.text, frame.id)
        hub.post_message(live, Sender.AGENT, frame.id, body, conn, agent=agent)
    elif isinstance(frame, AgentTyping):
        live = _own_chat(hub, agent, frame.chat)
        typing = {"type": "typing", "chat": live.id, "from": "agent", "active": frame.active}
        hub.bus.publish(live.session.topic, encode(typing))
    elif isinstance(frame, AgentEnd):
        hub.end_chat(_own_chat(hub, agent, frame.chat), by="agent")
    elif isinstance(frame, AgentStatusFrame):
        hub.set_agent_status(agent, AgentStatus(frame.status))


def _own_chat(
    hub: Hub, agent: AgentPresence, chat_id: str, client_id: str | None = None
) -> LiveChat:
    live = hub.chats.get(chat_id)
    if live is None or live.notified_agent != agent.id or live.conv.agent_id != agent.id:
        extra = {"id": client_id} if client_id is not None else {}
        raise StateError("not_your_chat", "this chat is not assigned to you", chat=chat_id, **extra)
    return live


async def _hello(hub: Hub, conn: Connection, frame: AgentHello) -> None:
    if conn.agent is not None:
        raise StateError("already_hello", "hello was already sent on this connection")
    check_version(frame.v)
    record: AgentRecord | None = None
    if frame.token is not None:
        record = await hub.store.agent_by_token(token_hash(frame.token))
        if record is None:
            raise AuthError("invalid_token", "unknown or revoked API token", field="token")
    if record is None:
        raise AuthError("auth_required", "sign in to the console or send an API token in hello")
    if record.disabled:
        raise AuthError("account_disabled", "this agent account is disabled")
    status = AgentStatus(frame.status) if frame.status is not None else None
    presence = hub.attach_agent(conn, record, status)
    known = frame.chats or {}
    conn.send(
        {
            "type": "welcome",
            "agent": {**record.public(), "status": presence.status.value},
            "chats": [
                hub.chat_summary(live, known.get(live.id, 0))
                for live in presence.chats.values()
                if live.notified_agent == presence.id
            ],
        }
    )
