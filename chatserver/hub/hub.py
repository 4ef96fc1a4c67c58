"""The hub: live sessions, agents and chats; turns decisions into writes and frames.

Rules of the house:

- Anything that must be durable is submitted to the writer, and every frame that
  reports it (ack, relayed message, assigned, ended ...) is sent from the op's
  commit callback. Callbacks run in submission order, so clients see events in
  the order they were decided, and never see anything that is not stored.
- Decisions (which agent, what seq, which state) are taken synchronously, in
  memory, through the pure core; nothing between a decision and its write awaits.
- Timers (grace periods) and the idle sweeper live here; all state is on this
  object, built in the app's lifespan.

The state is ``HubBase`` (base.py); each concern is a part of its own, put together here:
``sessions`` (players' sessions and grace periods), ``presence`` (agents' consoles and
status), ``messages`` (messages, files, notes), ``assigning`` (queue to agent and back,
transfers), ``chats`` (opening, ending, requests, ratings), ``followups`` (a later chat on
an earlier request). This module keeps the start, the restore after a restart, connections
and the idle sweeper.
"""

from __future__ import annotations

import asyncio
import logging

from ..core.conversation import ChatState
from ..exceptions import ClientError, StoreError
from ..store import AgentRecord
from .assigning import AssigningMixin
from .base import HubBase, cancel
from .connection import CLOSE_IDLE, CLOSE_POLICY, Connection, Sink, client_connection
from .followups import FollowUpsMixin
from .messages import MessagesMixin
from .presence import PresenceMixin
from .sessions import SessionsMixin
from .state import LiveChat, PlayerSession

__all__ = ["Hub"]

log = logging.getLogger("chatserver.hub")


class Hub(SessionsMixin, PresenceMixin, MessagesMixin, AssigningMixin, FollowUpsMixin, HubBase):
    """The hub: its state (``HubBase``) and its parts, one module each."""

    async def start(self) -> None:
        """Rebuild live state from the store, then start the writer and the sweeper."""
        self._loop = asyncio.get_running_loop()
        await self._restore()
        self.writer.start()
        self.heartbeats.start()
        self._sweeper = self.loop.create_task(self._sweep(), name="chatserver-sweeper")

    async def stop(self) -> None:
        """Stop timers and commit everything still queued."""
        if self._background:
            await asyncio.wait(self._background, timeout=5)
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.heartbeats.stop()
        if self._pump_handle is not None:
            self._pump_handle.cancel()
        self.waiting.cancel()
        for live in self.chats.values():
            cancel(live.answer_timer)
        for s in self.sessions.values():
            if s.grace is not None:
                s.grace.cancel()
        for a in self.agents.values():
            if a.grace is not None:
                a.grace.cancel()
        await self.supervision.stop()
        await self.writer.stop()
        self.pools.close()

    async def _restore(self) -> None:
        now = self.clock()
        agents: dict[int, AgentRecord | None] = {}
        for conv, rec in await self.store.live_chats():
            session = self.sessions.get(rec.id)
            if session is None:
                session = PlayerSession(rec.id, rec.token_hash, rec.created_at, rec.locale)
                session.persisted = True
                self._register_session(session)
            conv.memory_chars = self.settings.live_chat_memory_chars
            if conv.kept_chars > conv.memory_chars:
                conv.trim()
            live = LiveChat(conv, session, created=True)
            session.chat = live
            self.chats[conv.id] = live
            if conv.state is ChatState.QUEUED:
                self.router.enqueue(
                    conv.id,
                    conv.department,
                    conv.queued_at,
                    priority=conv.priority,
                    front=conv.requeued,
                )
            elif conv.agent_id is not None:
                if conv.agent_id not in agents:
                    agents[conv.agent_id] = await self.store.agent(conv.agent_id)
                record = agents[conv.agent_id]
                if record is None:  # pragma: no cover - agents are never deleted
                    continue
                presence = self._presence(record)
                presence.chats[conv.id] = live
                live.notified_agent = record.id
                self.router.take(record.id, now)
        for session in self.sessions.values():
            self._session_idle(session)
        for presence in self.agents.values():
            self._agent_idle(presence)
        if self.chats:
            log.info(
                "restored %d live chats (%d queued, %d agents)",
                len(self.chats),
                len(self.router),
                len(self.agents),
            )

    def _store_failed(self, exc: StoreError) -> None:
        self.failed = exc
        err = ClientError("store_unavailable", "the server cannot store messages right now")
        for conn in list(self.conns):
            conn.send_error(err)
            conn.close(1011, "storage failure: reconnect later")
        if self._on_fatal is not None:
            self._on_fatal(exc)

    def connect(self, ws: Sink, kind: str, peer: str = "") -> Connection:
        conn = client_connection(ws, kind, self.settings, self.clock(), peer, self.held)
        self.conns.add(conn)
        return conn

    def heartbeat(self, conn: Connection) -> float | None:
        """Put a connection on the server's pings once it has said hello; returns the
        interval its ``welcome`` announces. A client tunnelled from an edge node is
        pinged by the edge, at the interval the edge gave when it opened the tunnel.
        None: the client pings (server pings are off, or an edge that does not ping)."""
        if conn.relay is not None:
            return conn.edge_pings or None
        return self.heartbeats.interval if self.heartbeats.add(conn) else None

    def disconnect(self, conn: Connection) -> None:
        conn.gone()
        self.conns.discard(conn)
        self.heartbeats.discard(conn)
        for topic in list(conn.topics):
            self.unsubscribe(conn, topic)
        self.supervision.forget(conn)
        session = conn.session
        if session is not None:
            session.conns.discard(conn)
            if not session.conns:
                self._session_idle(session)
        agent = conn.agent
        if agent is not None:
            agent.conns.discard(conn)
            if not agent.conns:
                self._agent_idle(agent)

    async def _sweep(self) -> None:
        s = self.settings
        periods = [5.0, s.idle_timeout_seconds / 3, s.hello_timeout_seconds / 2]
        periods += [p / 3 for p in (s.player_idle_warn_seconds, s.player_idle_end_seconds) if p]
        periods += [rule.after / 3 for rule in self.router.overflow.values()]
        while True:
            await asyncio.sleep(min(periods))
            now = self.clock()
            cutoff = now - s.idle_timeout_seconds
            for conn in [c for c in self.conns if c.last_recv < cutoff]:
                conn.close(CLOSE_IDLE, "idle timeout: answer ping, or send one every 30 s")
            self._close_silent(now)
            if s.player_idle_warn_seconds:
                self._check_idle_players(now)
            if self.router.overflow and len(self.router):
                self._schedule_pump()  # waits grow: a chat may now overflow to another department

    def _close_silent(self, now: float) -> None:
        """A socket that has not said hello in time is closed: an open socket that never
        becomes a player or an agent is only a cost."""
        cutoff = now - self.settings.hello_timeout_seconds
        for conn in self.conns:
            if conn.opened < cutoff and conn.session is None and conn.agent is None:
                conn.close(CLOSE_POLICY, "send hello first")
