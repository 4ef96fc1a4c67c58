"""Frames from agents (``/ws/agent``): authenticate, then work on assigned chats.

An agent authenticates with the console's sign-in session (the web layer puts
the agent on the connection before the first frame) or with an API token in
``hello``. A chat that is not assigned to the agent gets ``not_your_chat``
whether or not it exists. Supervisors and admins may also watch the floor and
monitor any live chat, read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from ..core.conversation import ChatState, Sender, clean_text
from ..core.routing import AgentStatus
from ..exceptions import AuthError, ClientError, NotFoundError, StateError, StoreError
from ..privacy.audit import AuditEntry
from ..privacy.policy import Principal, may_see
from ..protocol import (
    AgentEnd,
    AgentFrame,
    AgentHello,
    AgentMessage,
    AgentNote,
    AgentStatusFrame,
    AgentTyping,
    Escalate,
    Floor,
    Handoff,
    Monitor,
    Roster,
    TakeOver,
    Transfer,
    Unmonitor,
    decode_agent,
    encode,
)
from ..security import new_id, token_hash
from .connection import Connection
from .frames import Pending, check_text, check_version, process_frame
from .hub import Hub
from .state import AgentPresence, LiveChat

__all__ = ["handle_agent_frame"]

log = logging.getLogger("chatserver.hub")


def handle_agent_frame(hub: Hub, conn: Connection, text: str) -> Pending | None:
    """Handle one text frame from an agent connection (see ``process_frame``)."""
    return process_frame(hub, conn, text, decode_agent, _dispatch)


def _dispatch(hub: Hub, conn: Connection, frame: AgentFrame) -> Awaitable[None] | None:
    """Handle ``frame`` now, or return what is left to await (only ``hello`` waits)."""
    if isinstance(frame, AgentHello):
        return _hello(hub, conn, frame)
    agent = conn.agent
    if agent is None:
        raise StateError("hello_required", "send hello first")
    if isinstance(frame, AgentMessage):
        live = _own_chat(hub, agent, frame.chat, frame.id)
        body = check_text(hub, frame.text, frame.id)
        hub.post_message(live, Sender.AGENT, frame.id, body, conn, agent=agent)
    elif isinstance(frame, AgentTyping):
        live = _own_chat(hub, agent, frame.chat)
        typing = encode(
            {"type": "typing", "chat": live.id, "from": "agent", "active": frame.active}
        )
        hub.bus.publish(live.session.topic, typing)
        hub.bus.publish(live.topic, typing, exclude=conn)  # supervisors watching
    elif isinstance(frame, AgentNote):
        live = _own_chat(hub, agent, frame.chat, frame.id)
        hub.add_note(live, agent, frame.id, check_text(hub, frame.text, frame.id))
    elif isinstance(frame, AgentEnd):
        live = _own_chat(hub, agent, frame.chat)
        if frame.resolution is not None and frame.resolution not in hub.settings.resolutions:
            raise ClientError(
                "unknown_resolution",
                f"resolution must be one of {', '.join(hub.settings.resolutions)}",
                field="resolution",
                chat=frame.chat,
            )
        note = clean_text(frame.note).strip() or None if frame.note else None
        hub.end_chat(live, by="agent", resolution=frame.resolution, note=note)
    elif isinstance(frame, Transfer):
        _transfer(hub, agent, frame)
    elif isinstance(frame, Handoff):
        if not agent.record.bot:
            raise AuthError("forbidden", "only bot accounts hand chats off; use transfer")
        _hand_off(hub, agent, frame)
    elif isinstance(frame, AgentStatusFrame):
        hub.set_agent_status(agent, AgentStatus(frame.status))
    elif isinstance(frame, Roster):
        conn.send({"type": "roster", "agents": hub.supervision.roster()})
    elif isinstance(frame, Floor):
        _require_supervisor(agent)
        hub.supervision.watch(conn, frame.watch)
    elif isinstance(frame, Escalate):
        live = _own_chat(hub, agent, frame.chat)
        _escalate(hub, agent, live, clean_text(frame.reason).strip()[:500])
    elif isinstance(frame, TakeOver):
        _require_supervisor(agent)
        live = _visible_chat(hub, agent, frame.chat)
        if live.conv.state is not ChatState.ACTIVE or live.conv.agent_id == agent.id:
            raise StateError("wrong_state", "only an active chat of another agent", chat=live.id)
        hub.transfer(live, agent, take_over=True)
        for c in agent.conns:
            hub.supervision.unmonitor(c, live)
    elif isinstance(frame, Monitor | Unmonitor):
        _require_supervisor(agent)
        watched = _visible_chat(hub, agent, frame.chat)
        if isinstance(frame, Monitor):
            hub.supervision.monitor(conn, watched)
            entry = AuditEntry(
                hub.clock(), f"agent:{agent.id}", "chat.monitor", watched.id, None,
                conn.address,
            )  # fmt: skip
            hub.spawn(_audit(hub, entry))
        else:
            hub.supervision.unmonitor(conn, watched)
    return None


def _visible_chat(hub: Hub, agent: AgentPresence, chat_id: str) -> LiveChat:
    """A live chat this supervisor may see (others do not exist for them)."""
    live = hub.chats.get(chat_id)
    if live is None or not may_see(
        Principal.of(agent.record), live.conv.department, live.conv.agent_id,
        scope="requests:read",
    ):  # fmt: skip
        raise NotFoundError("chat_not_found", "no live chat has this id", chat=chat_id)
    return live


def _escalate(hub: Hub, agent: AgentPresence, live: LiveChat, reason: str) -> None:
    """The agent asks supervisors to step in: a note on the chat, a frame to every
    supervisor who may see it, a flag on the floor; its request starts escalated."""
    if not reason:
        raise ClientError("invalid_field", "say why", field="reason", chat=live.id)
    live.escalated = reason
    hub.add_note(live, agent, new_id("esc_"), f"Escalated to supervisors: {reason}")
    frame = encode(
        {"type": "escalated", "chat": live.id, "reason": reason, "agent": {"name": agent.name}}
    )
    for presence in hub.agents.values():
        rec = presence.record
        if rec.role not in ("supervisor", "admin") or presence.id == agent.id:
            continue
        if may_see(
            Principal.of(rec), live.conv.department, live.conv.agent_id, scope="requests:read"
        ):
            hub.bus.publish(presence.topic, frame)


async def _audit(hub: Hub, entry: AuditEntry) -> None:
    try:
        await hub.store.audit_append([entry])
    except StoreError as exc:
        log.error("could not record %s in the audit trail: %s", entry.action, exc)


def _require_supervisor(agent: AgentPresence) -> None:
    if agent.record.role not in ("supervisor", "admin"):
        raise AuthError("forbidden", "only supervisors and admins can do this")


def _transfer(hub: Hub, agent: AgentPresence, frame: Transfer) -> None:
    live = _own_chat(hub, agent, frame.chat)
    if frame.to is None:
        department = frame.department
        if department is not None and department not in hub.routing.departments:
            raise ClientError(
                "unknown_department", "no such department", field="department", chat=frame.chat
            )
        hub.requeue(live, reason="requeued", department=department)
        return
    target = hub.agents.get(frame.to)
    if target is None or target.id == agent.id:
        raise StateError("agent_unavailable", "choose another agent who is online", chat=frame.chat)
    try:
        hub.transfer(live, target)
    except StateError as err:
        err.extra.setdefault("chat", frame.chat)
        raise


def _hand_off(hub: Hub, bot: AgentPresence, frame: Handoff) -> None:
    """A bot gives its chat to people: the reason and summary become a note for the agent
    who takes it, and the chat goes to the front of its department's queue."""
    live = _own_chat(hub, bot, frame.chat)
    conv = live.conv
    if not hub.settings.queue_without_agents and hub.router.capacity(conv.department) == 0:
        raise StateError("no_agents", "no agent is online for this chat's department", chat=live.id)
    reason, summary = clean_text(frame.reason).strip(), clean_text(frame.summary).strip()
    text = f"Hand-off: {reason}" + (f"\n{summary}" if summary else "")
    hub.add_note(live, bot, f"handoff-{conv.committed_seq}", text)
    hub.requeue(live, reason="handed_off")


def _own_chat(
    hub: Hub, agent: AgentPresence, chat_id: str, client_id: str | None = None
) -> LiveChat:
    live = hub.chats.get(chat_id)
    if live is None or live.notified_agent != agent.id or live.conv.agent_id != agent.id:
        err = StateError("not_your_chat", "this chat is not assigned to you", chat=chat_id)
        if client_id is not None:
            err.extra["id"] = client_id
        raise err
    return live


async def _hello(hub: Hub, conn: Connection, frame: AgentHello) -> None:
    if conn.agent is not None:
        raise StateError("already_hello", "hello was already sent on this connection")
    check_version(frame.v)
    record = conn.preauth
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
    welcome: dict[str, object] = {
        "type": "welcome",
        "agent": {**record.public(), "status": presence.status.value},
        "resolutions": list(hub.settings.resolutions),
        "departments": [
            {"id": d.id, "labels": dict(d.labels)} for d in hub.routing.departments.values()
        ],
        "chats": [
            hub.chat_summary(live, known.get(live.id, 0))
            for live in presence.chats.values()
            if live.notified_agent == presence.id
        ],
    }
    ping = hub.heartbeat(conn)
    if ping is not None:
        welcome["ping_seconds"] = ping
    conn.send(welcome)
