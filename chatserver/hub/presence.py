"""Agents' presence: consoles attaching, status, the grace period, changes an admin makes,
and telling players choosing when the first agent comes or the last one goes."""

from __future__ import annotations

import logging

from ..core.routing import AgentStatus
from ..protocol import encode
from ..store import AgentRecord
from .base import HubBase
from .connection import CLOSE_POLICY, Connection
from .state import AgentPresence

__all__ = ["PresenceMixin"]

log = logging.getLogger("chatserver.hub")


class PresenceMixin(HubBase):
    """Agents' presence: consoles attaching, status, the grace period, changes an admin makes,
    and telling players choosing when the first agent comes or the last one goes."""

    def _presence(self, record: AgentRecord) -> AgentPresence:
        presence = self.agents.get(record.id)
        if presence is None:
            presence = self.agents[record.id] = AgentPresence(record)
        else:
            presence.record = record
        self.router.upsert_agent(record.id, record.max_chats, record.departments, bot=record.bot)
        return presence

    def attach_agent(
        self, conn: Connection, record: AgentRecord, status: AgentStatus | None
    ) -> AgentPresence:
        presence = self._presence(record)
        conn.agent = presence
        presence.conns.add(conn)
        self.subscribe(conn, presence.topic)
        for live in presence.chats.values():
            if live.notified_agent == presence.id:
                self.subscribe(conn, live.topic)
        if presence.grace is not None:
            presence.grace.cancel()
            presence.grace = None
        # the new console learns the status from welcome; other consoles only of a change
        status = status or presence.status
        self.set_agent_status(presence, status, exclude=conn, announce=status != presence.status)
        return presence

    def set_agent_status(
        self,
        presence: AgentPresence,
        status: AgentStatus,
        *,
        exclude: Connection | None = None,
        announce: bool = True,
    ) -> None:
        presence.status = status
        # a disconnected agent keeps the status they chose but takes no new chats
        effective = status if presence.conns else AgentStatus.OFFLINE
        self.router.set_status(presence.id, effective, self.clock())
        if announce:
            frame = encode({"type": "status", "status": status.value})
            self.bus.publish(presence.topic, frame, exclude=exclude)
        self._availability_changed()
        self._schedule_pump()
        self.waiting.schedule()

    def _agent_idle(self, presence: AgentPresence) -> None:
        """The agent's last console is gone: no new chats; keep theirs for the grace period."""
        self.router.set_status(presence.id, AgentStatus.OFFLINE, self.clock())
        self.waiting.schedule()
        self._availability_changed()
        if not presence.chats:
            del self.agents[presence.id]
        elif presence.grace is None:
            presence.grace = self.loop.call_later(
                self.settings.agent_grace_seconds, self._agent_gone, presence
            )

    def _agent_gone(self, presence: AgentPresence) -> None:
        presence.grace = None
        if presence.conns:
            return
        for live in list(presence.chats.values()):
            log.info("chat %s: agent %s did not come back, requeueing", live.id, presence.name)
            self.requeue(live, reason="agent_left")
        if not presence.conns and not presence.chats:
            self.agents.pop(presence.id, None)

    def _availability_changed(self) -> None:
        """When the first agent comes online or the last one leaves, tell players choosing."""
        available = self.available
        if available == self._was_available:
            return
        self._was_available = available
        frame = encode({"type": "availability", "available": available})
        for session in self.sessions.values():
            if session.chat is None:
                self.bus.publish(session.topic, frame)

    def agent_changed(self, record: AgentRecord) -> None:
        """An admin changed the agent: apply capacity now; a disabled agent is signed out."""
        presence = self.agents.get(record.id)
        if presence is None:
            return
        presence.record = record
        self.router.upsert_agent(record.id, record.max_chats, record.departments, bot=record.bot)
        if record.disabled:
            # out of routing first: their sockets close asynchronously
            presence.status = AgentStatus.OFFLINE
            self.router.set_status(record.id, AgentStatus.OFFLINE, self.clock())
            for conn in list(presence.conns):
                conn.close(CLOSE_POLICY, "this account was disabled")
            for live in list(presence.chats.values()):
                self.requeue(live, reason="agent_left")
        self._schedule_pump()
        self.waiting.schedule()

    def sign_out_agent(self, agent_id: int, reason: str) -> None:
        """Close every console socket of the agent (their sessions were ended in the store;
        a console that reconnects must sign in again). Their chats wait the grace period."""
        presence = self.agents.get(agent_id)
        if presence is not None:
            for conn in list(presence.conns):
                conn.close(CLOSE_POLICY, reason)

    def _drop_agent_if_idle(self, agent_id: int | None) -> None:
        presence = self.agents.get(agent_id) if agent_id is not None else None
        if presence is not None and not presence.conns and not presence.chats:
            if presence.grace is not None:
                presence.grace.cancel()
            del self.agents[presence.id]
