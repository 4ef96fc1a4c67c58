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
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from functools import partial
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from ..bus import Bus, LocalBus
from ..config import Settings, load_routing
from ..core.conversation import (
    ChatState,
    Conversation,
    Duplicate,
    FileInfo,
    Message,
    Note,
    Player,
    Sender,
)
from ..core.files import check_count
from ..core.requests import (
    format_request_number,
    parse_request_number,
    request_number_from_bits,
)
from ..core.routing import AgentStatus, Overflow, Router
from ..core.stats import LATENCY_BOUNDS, WAIT_BOUNDS, Buckets
from ..core.topics import RoutingConfig, Topic
from ..directory import MemberDirectory, StoreDirectory
from ..exceptions import ClientError, StateError, StoreError
from ..files import FileStore, Kept
from ..mail import Notifier
from ..pools import Pools
from ..protocol import encode, message_dict, message_frame, note_dict, to_ms
from ..security import new_id, new_ordered_id, new_token, token_hash
from ..store import (
    AddAttachment,
    AgentRecord,
    AppendMessage,
    AppendNote,
    AttachmentRecord,
    CreateChat,
    CreateRequest,
    CreateSession,
    EnqueueWebhooks,
    Op,
    RateRequest,
    RecordRefusal,
    SaveChat,
    Store,
)
from ..throttle import FailureThrottle, Window
from ..webhooks import Dispatcher, chat_ended_body, request_updated_body
from .connection import CLOSE_IDLE, CLOSE_POLICY, Connection, Held, Sink, client_connection
from .heartbeats import Heartbeats, ping_interval
from .state import AgentPresence, EndedChat, LiveChat, PlayerSession
from .supervision import Supervision
from .turns import Turns
from .waiting import Waiting
from .writer import Writer

__all__ = ["Hub"]

log = logging.getLogger("chatserver.hub")

_REQUEUE_TEXT = {
    "agent_left": "{agent} left the chat. You are back at the front of the queue.",
    "no_answer": "{agent} could not answer. You are back at the front of the queue.",
    "requeued": "{agent} put the chat back in the queue. You are at the front.",
    "handed_off": "{agent} passed the chat to our team. You are at the front of the queue.",
}
_ENDED_TEXT = {
    "player": "The player ended the chat.",
    "agent": "{agent} ended the chat.",
    "system": "The chat was closed.",
}


def _new_request_number() -> str:
    return request_number_from_bits(secrets.randbits(45))


class Hub:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: Bus | None = None,
        *,
        routing: RoutingConfig | None = None,
        directory: MemberDirectory | None = None,
        clock: Callable[[], float] = time.time,
        on_fatal: Callable[[StoreError], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus: Bus = bus if bus is not None else LocalBus()
        self.routing = routing if routing is not None else load_routing(settings)
        self.directory = directory if directory is not None else StoreDirectory(store)
        self.clock = clock
        self.router = Router(
            overflow={
                d.id: Overflow(d.overflow_after, d.overflow_to)
                for d in self.routing.departments.values()
                if d.overflow_to is not None and d.overflow_after is not None
            }
        )
        self.waiting = Waiting(self)
        # failed identity checks (directory matches, identity tokens): per player session,
        # per address, and per member being guessed at from anywhere
        self.identity_throttle = FailureThrottle(
            "identity", session="5/15 minutes", address="20/15 minutes", member="10/15 minutes"
        )
        # CPU work off the loop: passwords, images, e-mails
        self.pools = Pools(settings.pool_workers, settings.pool_queue)
        # transcript e-mails per recipient (chatserver.hub.mailing); new player sessions
        # and new chats per client address (chatserver.hub.player)
        self.mail_recipients = Window(f"{settings.emails_per_recipient_per_day}/day")
        self.address_sessions = Window(f"{settings.sessions_per_address_per_minute}/minute")
        self.address_chats = Window(f"{settings.chats_per_address_per_minute}/minute")
        self.held = Held()
        self.writer = Writer(
            store,
            batch_max=settings.write_batch_max,
            on_fatal=self._store_failed,
            hold=self.held,
        )
        # new chats start in slices (chatserver.hub.turns)
        self.turns = Turns(self.writer, on_slice=self._slice_started)
        # for /metrics (chatserver.metrics): messages stored by sender, the time from a
        # message's arrival to its commit, and how long assigned chats had waited
        self.messages_stored: dict[Sender, int] = dict.fromkeys(Sender, 0)
        self.message_seconds = Buckets(LATENCY_BOUNDS)
        self.queue_wait_seconds = Buckets(WAIT_BOUNDS)
        self.sessions: dict[str, PlayerSession] = {}
        self.by_token: dict[bytes, PlayerSession] = {}
        self.chats: dict[str, LiveChat] = {}
        self.agents: dict[int, AgentPresence] = {}
        self.conns: set[Connection] = set()
        self.heartbeats = Heartbeats(ping_interval(settings))  # for this node's own sockets
        self.failed: StoreError | None = None
        self._on_fatal = on_fatal
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pump_handle: asyncio.Handle | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._was_available = False
        self.supervision = Supervision(self)
        # set by the app when it runs them: the webhook dispatcher, e-mail, the file store
        self.dispatcher: Dispatcher | None = None
        self.notifier: Notifier | None = None
        self.files: FileStore | None = None
        self._background: set[asyncio.Task[None]] = set()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "hub not started"
        return self._loop

    @property
    def loop_or_none(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        """Rebuild live state from the store, then start the writer and the sweeper."""
        self._loop = asyncio.get_running_loop()
        await self._restore()
        self.writer.start()
        self.heartbeats.start()
        self._sweeper = self.loop.create_task(self._sweep(), name="chatserver-sweeper")

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run side work (an e-mail, say) without holding up the caller; kept until done."""
        task = self.loop.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

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
            _cancel(live.answer_timer)
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

    # -- connections -----------------------------------------------------------

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

    def subscribe(self, conn: Connection, topic: str) -> None:
        self.bus.subscribe(topic, conn)
        conn.topics.add(topic)

    def unsubscribe(self, conn: Connection, topic: str) -> None:
        self.bus.unsubscribe(topic, conn)
        conn.topics.discard(topic)

    def _unwatch(self, live: LiveChat, agent_id: int | None) -> None:
        """The agent's consoles stop receiving the chat's frames."""
        presence = self.agents.get(agent_id) if agent_id is not None else None
        if presence is not None:
            for c in presence.conns:
                self.unsubscribe(c, live.topic)

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

    def _check_idle_players(self, now: float) -> None:
        """Warn a player who has not answered the agent for a while; then end the chat."""
        s = self.settings
        for live in list(self.chats.values()):
            if live.conv.state is not ChatState.ACTIVE or live.last_agent_at <= live.last_player_at:
                continue  # the ball is not in the player's court
            if live.idle_warned_at is None:
                if now - live.last_agent_at >= s.player_idle_warn_seconds:
                    live.idle_warned_at = now
                    self._system(
                        live, "idle_warning", "Are you still there? The chat will close soon."
                    )
            elif now - live.idle_warned_at >= s.player_idle_end_seconds:
                self.end_chat(live, by="system", reason="player_idle")

    # -- player sessions -------------------------------------------------------

    def _register_session(self, session: PlayerSession) -> None:
        self.sessions[session.id] = session
        self.by_token[session.token_hash] = session

    def _evict_session(self, session: PlayerSession) -> None:
        if session.grace is not None:
            session.grace.cancel()
            session.grace = None
        self.sessions.pop(session.id, None)
        self.by_token.pop(session.token_hash, None)

    def new_session(self, locale: str | None) -> tuple[str, PlayerSession]:
        """A fresh session; returns its resume token (given to the client once) and it."""
        token = new_token("css_")
        session = PlayerSession(new_ordered_id("s_"), token_hash(token), self.clock(), locale)
        self._register_session(session)
        return token, session

    async def find_session(self, token: str) -> PlayerSession | None:
        """The session a resume token belongs to, from memory or the store."""
        digest = token_hash(token)
        session = self.by_token.get(digest)
        if session is not None:
            return session
        rec = await self.store.session_by_token(digest)
        if rec is None:
            return None
        chat = await self.store.latest_chat(rec.id)
        session = self.by_token.get(digest)  # another tab may have loaded it meanwhile
        if session is not None:
            return session
        session = PlayerSession(rec.id, rec.token_hash, rec.created_at, rec.locale, persisted=True)
        if chat is not None and chat.request_number is not None:
            session.ended = EndedChat(
                chat.id, format_request_number(chat.request_number), chat.last_seq, chat.ended_by
            )
        self._register_session(session)
        return session

    def attach_player(self, conn: Connection, session: PlayerSession) -> None:
        conn.session = session
        session.conns.add(conn)
        self.subscribe(conn, session.topic)
        if session.grace is not None:
            session.grace.cancel()
            session.grace = None

    def _session_idle(self, session: PlayerSession) -> None:
        """The session's last connection is gone: keep its chat for the grace period."""
        if session.chat is None:
            self._evict_session(session)
        elif session.grace is None:
            session.grace = self.loop.call_later(
                self.settings.player_grace_seconds, self._player_gone, session
            )

    def _player_gone(self, session: PlayerSession) -> None:
        session.grace = None
        if session.conns or session.chat is None:
            return
        live = session.chat
        if live.conv.state is not ChatState.ENDED:
            log.info("chat %s: player did not come back, ending", live.id)
            self.end_chat(live, by="system", reason="player_left")

    # -- agents ----------------------------------------------------------------

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

    # -- chats -----------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Is any agent online to take chats?"""
        return self.router.capacity() > 0

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

    def _open_chat(self, session: PlayerSession, player: Player, topic: Topic) -> LiveChat:
        conv = Conversation(
            id=new_ordered_id("c_"),
            session_id=session.id,
            player=player,
            created_at=self.clock(),
            department=topic.department,
            priority=topic.priority,
            memory_chars=self.settings.live_chat_memory_chars,
        )
        live = LiveChat(conv, session)
        if not session.persisted:
            self.writer.submit(
                CreateSession(session.id, session.token_hash, session.created_at, session.locale)
            )
            session.persisted = True
        self.writer.submit(CreateChat.of(conv), partial(self._chat_created, live))
        self.chats[conv.id] = live
        session.chat = live
        session.ended = None
        return live

    def check_open(self, topic: Topic) -> None:
        """Refuse a new chat (``service_offline``, with a reason) its department cannot take."""
        dep = self.routing.department(topic.department)
        if not dep.hours.always:  # (open around the clock: no local time needed)
            local = datetime.fromtimestamp(self.clock(), ZoneInfo(dep.timezone))
            if not dep.hours.is_open(local):
                opens = dep.hours.next_opening(local)
                raise ClientError(
                    "service_offline",
                    "support for this topic is closed now; leave a message instead",
                    reason="closed",
                    opens_at=to_ms(opens.timestamp()) if opens else None,
                )
        queue = self.router.entry_queue(dep.id, bot_first=topic.bot_first)
        if not self.settings.queue_without_agents and self.router.capacity(queue) == 0:
            raise ClientError(
                "service_offline",
                "no agent is online for this topic right now; leave a message instead",
                reason="no_agents",
            )
        max_queue = dep.max_queue or self.settings.max_queue
        if self.router.queue_length(dep.id) >= max_queue:
            raise ClientError(
                "service_offline",
                "the queue for this topic is full right now; leave a message instead",
                reason="queue_full",
            )

    def create_chat(self, session: PlayerSession, player: Player, topic: Topic) -> LiveChat:
        """A new queued chat for the session, in the topic's department, at its priority."""
        self.check_open(topic)
        # the pump goes ahead of the writer's wake-up (which the new chat's write
        # schedules): a chat an agent is free for is stored and given in one commit
        self._schedule_pump()
        live = self._open_chat(session, player, topic)
        queue = self.router.entry_queue(topic.department, bot_first=topic.bot_first)
        self.router.enqueue(live.id, queue, live.conv.created_at, priority=topic.priority)
        return live

    def record_refusal(
        self, session: PlayerSession, reason: str, player: Player, member_id: str | None
    ) -> None:
        """Keep a record of a player we turned away (under age, say)."""
        self.writer.submit(
            RecordRefusal(
                self.clock(),
                reason,
                member_id,
                player.username,
                player.email,
                player.topic,
                session.id,
            )
        )

    def leave_message(
        self, session: PlayerSession, player: Player, topic: Topic, client_id: str, text: str
    ) -> None:
        """The offline path: a chat with one message, ended at once, so it gets a request."""
        live = self._open_chat(session, player, topic)
        session.last_left_id = client_id
        self.post_message(live, Sender.PLAYER, client_id, text, None)
        self.end_chat(live, by="player", reason="offline_message")

    def rate(
        self,
        session: PlayerSession,
        resolved: bool,
        rating: int,
        comment: str | None,
        nps: int | None = None,
    ) -> None:
        """Store the player's answer on their last request; ``rated`` confirms it."""
        ended = session.ended
        if ended is None:
            raise StateError("wrong_state", "there is no ended chat to rate")
        op = RateRequest(
            parse_request_number(ended.request_number), resolved, rating, comment, self.clock(), nps
        )
        frame = encode(
            {
                "type": "rated",
                "request_number": ended.request_number,
                "resolved": resolved,
                "rating": rating,
                **({"nps": nps} if nps is not None else {}),
            }
        )
        group: list[Op] = [op]
        if self.settings.webhook_urls:
            satisfaction: dict[str, object] = {
                "resolved": resolved,
                "rating": rating,
                "comment": comment,
            }
            if nps is not None:
                satisfaction["nps"] = nps
            body = request_updated_body(
                op.number, self.settings.base_url, satisfaction=satisfaction
            )
            group.append(
                EnqueueWebhooks(
                    "request.updated", self.settings.webhook_urls, lambda: body, op.rated_at
                )
            )
        self.writer.submit_group(group, partial(self._rated, session.topic, frame))

    def _rated(self, topic: str, frame: str) -> None:
        self.bus.publish(topic, frame)
        self.poke_webhooks()

    def poke_webhooks(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.poke()

    def _chat_created(self, live: LiveChat) -> None:
        live.created = True
        if live.conv.state is ChatState.QUEUED:
            self.waiting.send(live)

    def post_message(
        self,
        live: LiveChat,
        sender: Sender,
        client_id: str,
        text: str,
        conn: Connection | None,
        *,
        agent: AgentPresence | None = None,
        event: str | None = None,
        author_name: str | None = None,
    ) -> None:
        """Accept a message; it is acked and relayed once committed."""
        result = live.conv.append(
            sender,
            client_id,
            text,
            int(self.clock() * 1000),
            agent_id=agent.id if agent is not None else None,
            author_name=agent.name if agent is not None else author_name,
            event=event,
            max_messages=self.settings.max_messages_per_chat,
        )
        if isinstance(result, Duplicate):
            if conn is not None:
                if result.committed:
                    conn.send(self._ack(conn, live, client_id, result.seq))
                else:
                    live.waiting.setdefault(result.seq, []).append((conn, client_id))
            return
        msg = result.message
        now = self.clock()
        if sender is Sender.PLAYER:
            self.player_active(live, now)
        elif sender is Sender.AGENT:
            live.last_agent_at = now
            _cancel(live.answer_timer)  # answered
            live.answer_timer = None
        self.writer.submit(
            AppendMessage(msg), partial(self._message_committed, live, msg, conn, perf_counter())
        )

    def post_file(
        self,
        live: LiveChat,
        sender: Sender,
        client_id: str,
        name: str,
        kept: Kept,
        *,
        agent: AgentPresence | None = None,
    ) -> tuple[asyncio.Future[int], bool]:
        """A file as a chat message: the attachment and its message commit together.

        Returns a future of the message's seq (done once stored) and whether this was
        new; a resend of the same id (False) gets the first upload's seq.
        """
        if live.conv.file_count >= self.settings.max_files_per_chat:
            check_count(live.conv.file_count, self.settings.max_files_per_chat)
        now = self.clock()
        info = FileInfo(
            new_id("f_"),
            name,
            kept.content_type,
            kept.size,
            kept.sha256,
            kept.width,
            kept.height,
            kept.thumb_key is not None,
        )
        result = live.conv.append(
            sender,
            client_id,
            name,
            int(now * 1000),
            agent_id=agent.id if agent is not None else None,
            author_name=agent.name if agent is not None else None,
            file=info,
            max_messages=self.settings.max_messages_per_chat,
        )
        future: asyncio.Future[int] = self.loop.create_future()
        if isinstance(result, Duplicate):
            if result.committed:
                future.set_result(result.seq)
            else:
                live.seq_futures.setdefault(result.seq, []).append(future)
            return future, False
        msg = result.message
        if sender is Sender.PLAYER:
            self.player_active(live, now)
        record = AttachmentRecord(
            id=info.id,
            chat_id=live.id,
            name=name,
            content_type=kept.content_type,
            size=kept.size,
            sha256=kept.sha256,
            storage_key=kept.key,
            thumb_key=kept.thumb_key,
            width=kept.width,
            height=kept.height,
            uploaded_by=msg.author_key,
            created_at=now,
        )
        live.seq_futures.setdefault(msg.seq, []).append(future)
        self.writer.submit_group(
            [AddAttachment(record), AppendMessage(msg)],
            partial(self._message_committed, live, msg, None, perf_counter()),
        )
        return future, True

    def player_active(self, live: LiveChat, now: float) -> None:
        """The player wrote or is typing: not idle."""
        live.last_player_at = now
        live.idle_warned_at = None

    def _system(self, live: LiveChat, event: str, text: str, name: str | None = None) -> None:
        """A system note in the chat; ``name`` is the agent it is about (for translations)."""
        self.post_message(
            live, Sender.SYSTEM, new_id("sys_"), text, None, event=event, author_name=name
        )

    @staticmethod
    def _ack(conn: Connection, live: LiveChat, client_id: str, seq: int) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "ack", "id": client_id, "seq": seq}
        if conn.kind == "agent":
            frame["chat"] = live.id
        return frame

    def _message_committed(
        self, live: LiveChat, msg: Message, conn: Connection | None, arrived: float
    ) -> None:
        self.message_seconds.observe(perf_counter() - arrived)
        self.messages_stored[msg.sender] += 1
        live.conv.committed(msg)
        if conn is not None:
            conn.send(self._ack(conn, live, msg.id, msg.seq))
        for waiter, client_id in live.waiting.pop(msg.seq, ()):
            waiter.send(self._ack(waiter, live, client_id, msg.seq))
        for future in live.seq_futures.pop(msg.seq, ()):
            if not future.done():
                future.set_result(msg.seq)
        # the author's own connection has the ack; their other tabs get the message
        self.bus.publish(live.session.topic, encode(message_frame(msg, chat=False)), exclude=conn)
        self.bus.publish(live.topic, encode(message_frame(msg, chat=True)), exclude=conn)

    def _slice_started(self) -> None:
        """A slice of new chats was let in: its players' wake-ups are scheduled, so the
        pairing pass and then the writer run right behind them, in the same turn of the
        loop (the chats' own writes would wake the writer only in the next one)."""
        self._schedule_pump()
        self.writer.kick()

    def _schedule_pump(self) -> None:
        if self._pump_handle is None and self._loop is not None:
            self._pump_handle = self.loop.call_soon(self._pump)

    def _pump(self) -> None:
        """Assign queued chats to free agents (as the routing policy decides)."""
        self._pump_handle = None
        now = self.clock()
        assigned = self.router.assignments(now)
        for chat_id, agent_id in assigned:
            live = self.chats[chat_id]
            presence = self.agents[agent_id]
            live.conv.assign(agent_id, presence.name, now)
            presence.chats[chat_id] = live
            self.writer.submit(SaveChat.of(live.conv), partial(self._assigned, live, agent_id))
            self._system(live, "agent_joined", f"{presence.name} joined the chat.", presence.name)
        if assigned:
            self.waiting.schedule()

    def _assigned(self, live: LiveChat, agent_id: int) -> None:
        conv = live.conv
        presence = self.agents.get(agent_id)
        if conv.state is not ChatState.ACTIVE or conv.agent_id != agent_id or presence is None:
            return  # ended or requeued before the assignment was stored
        if not conv.requeued:
            self.queue_wait_seconds.observe(max(0.0, self.clock() - conv.queued_at))
        live.notified_agent = agent_id
        live.last_queued = None
        _cancel(live.answer_timer)
        if self.settings.answer_timeout_seconds:
            live.answer_timer = self.loop.call_later(
                self.settings.answer_timeout_seconds, self._no_answer, live, agent_id
            )
        self.bus.publish(
            live.session.topic,
            encode({"type": "assigned", "chat": conv.id, "agent": {"name": presence.name}}),
        )
        self.bus.publish(presence.topic, encode({"type": "assigned", **self.chat_summary(live)}))
        for c in presence.conns:
            self.subscribe(c, live.topic)

    def _no_answer(self, live: LiveChat, agent_id: int) -> None:
        """The agent never answered the new chat: it goes to the next free agent."""
        live.answer_timer = None
        if live.conv.state is ChatState.ACTIVE and live.conv.agent_id == agent_id:
            log.info("chat %s: agent %s did not answer in time", live.id, agent_id)
            self.requeue(live, reason="no_answer")

    def chat_summary(self, live: LiveChat, after_seq: int = 0) -> dict[str, Any]:
        """What an agent gets about one of their chats, in ``assigned`` and ``welcome``."""
        conv = live.conv
        return {
            "chat": conv.id,
            "state": conv.state.value,
            "player": conv.player.public(),
            "department": conv.department,
            "priority": conv.priority,
            "queued_at": to_ms(conv.created_at),
            "assigned_at": to_ms(conv.assigned_at),
            "last_seq": conv.committed_seq,
            "history": [message_dict(m) for m in conv.after(after_seq)],
            # a very long chat keeps only its latest messages in memory: older ones are in
            # the request's transcript once it ends
            "history_complete": conv.has_after(after_seq),
            "notes": [note_dict(n) for n in conv.notes],
        }

    def requeue(self, live: LiveChat, reason: str, department: str | None = None) -> None:
        """Take an active chat from its agent and put it at the front of a queue.

        ``reason``: ``agent_left`` (they did not come back), ``no_answer`` (they did not
        answer in time) or ``requeued`` (they sent it back, maybe to another department).
        Except when the agent left, it is never given to the same agent while it waits.
        """
        conv = live.conv
        name = conv.agent_name or "The agent"
        text = _REQUEUE_TEXT[reason].format(agent=name)
        self._system(live, reason, text, conv.agent_name)
        lost = conv.requeue()
        _cancel(live.answer_timer)
        live.answer_timer = None
        self._release(live, lost, reason)
        if department is not None:
            conv.department = department
        avoid = None if reason == "agent_left" else lost
        self.router.enqueue(
            conv.id,
            conv.department,
            conv.queued_at,
            priority=conv.priority,
            front=True,
            avoid=avoid,
        )
        self.writer.submit(SaveChat.of(conv), partial(self._requeued, live))
        self._schedule_pump()
        self.waiting.schedule()  # everyone behind it moved down one place

    def _release(self, live: LiveChat, agent_id: int | None, reason: str) -> None:
        """The chat is no longer ``agent_id``'s: free the slot, tell and unsubscribe them."""
        if agent_id is None:
            return
        presence = self.agents.get(agent_id)
        if presence is not None:
            presence.chats.pop(live.id, None)
            if live.notified_agent == agent_id:
                unassigned = {"type": "unassigned", "chat": live.id, "reason": reason}
                self.bus.publish(presence.topic, encode(unassigned))
        self._unwatch(live, agent_id)
        if live.notified_agent == agent_id:
            live.notified_agent = None
        self.router.release(agent_id)
        self._schedule_pump()

    def transfer(self, live: LiveChat, to: AgentPresence) -> None:
        """Hand an active chat to another agent who is online and has room."""
        if to.status is not AgentStatus.ONLINE or not to.conns:
            raise StateError("agent_unavailable", f"{to.name} is not online")
        slot = self.router.agents.get(to.id)
        if slot is None or slot.active >= slot.max_chats:
            raise StateError("agent_unavailable", f"{to.name} has no room for another chat")
        conv = live.conv
        from_name = conv.agent_name or "The agent"
        previous = conv.transfer(to.id, to.name)
        self._release(live, previous, "transferred")
        self.router.take(to.id, self.clock())
        to.chats[live.id] = live
        # as with any assignment: first "assigned" (with the history), then the note about it
        self.writer.submit(SaveChat.of(conv), partial(self._assigned, live, to.id))
        self._system(
            live, "transferred", f"{from_name} transferred the chat to {to.name}.", to.name
        )

    def add_note(self, live: LiveChat, agent: AgentPresence, client_id: str, text: str) -> None:
        """An internal note; every console on the chat gets it once it is stored."""
        note = live.conv.add_note(agent.id, agent.name, client_id, text, int(self.clock() * 1000))
        if note is None:
            return  # a resend: the first one is (or will be) delivered to this console too
        self.writer.submit(AppendNote(note), partial(self._note_committed, live, note))

    def _note_committed(self, live: LiveChat, note: Note) -> None:
        live.conv.note_committed(note)
        self.bus.publish(live.topic, encode({"type": "note", **note_dict(note)}))

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

    def _requeued(self, live: LiveChat) -> None:
        if live.conv.state is ChatState.QUEUED:
            live.last_queued = None
            self.waiting.send(live)

    def end_chat(
        self,
        live: LiveChat,
        by: str,
        reason: str | None = None,
        *,
        resolution: str | None = None,
        note: str | None = None,
    ) -> None:
        """End a queued or active chat; the request number is sent once it is stored."""
        conv = live.conv
        now = self.clock()
        if reason == "offline_message":
            self._system(live, reason, "Message left while no agent was online.")
        else:
            name = conv.agent_name if by == "agent" else None
            text = _ENDED_TEXT[by].format(agent=conv.agent_name or "The agent")
            self._system(live, "chat_ended", text, name)
        was_queued = conv.state is ChatState.QUEUED
        agent_id = conv.agent_id
        conv.end(by, now)
        if was_queued:
            self.router.remove(conv.id)
            self.waiting.schedule()
        if agent_id is not None:
            presence = self.agents.get(agent_id)
            if presence is not None:
                presence.chats.pop(conv.id, None)
            self.router.release(agent_id)
            if conv.assigned_at is not None:
                self.waiting.handled(conv.department, now - conv.assigned_at)
            self._schedule_pump()
        _cancel(live.answer_timer)
        live.answer_timer = None
        request = CreateRequest(conv.id, now, _new_request_number, resolution, note)
        group: list[Op] = [SaveChat.of(conv), request]
        if self.settings.webhook_urls:
            files = list(conv.files)
            group.append(
                EnqueueWebhooks(
                    "chat.ended",
                    self.settings.webhook_urls,
                    lambda: chat_ended_body(
                        conv, request.number, self.settings.base_url, files, resolution
                    ),
                    now,
                )
            )
        # the chat's end, its request and the webhook commit together or not at all
        self.writer.submit_group(group, partial(self._ended, live, request, by, reason))

    def _ended(self, live: LiveChat, request: CreateRequest, by: str, reason: str | None) -> None:
        self.poke_webhooks()
        conv = live.conv
        conv.request_number = request.number
        ended = EndedChat(
            conv.id, format_request_number(request.number), conv.committed_seq, by, reason
        )
        frame = encode(ended.frame())
        self.bus.publish(live.session.topic, frame)
        self.bus.publish(live.topic, frame)  # its agent and any supervisor watching
        self._unwatch(live, live.notified_agent)
        for monitor in list(live.monitors):
            self.unsubscribe(monitor, live.topic)
            self.supervision.monitored.get(monitor, set()).discard(live.id)
        session = live.session
        if session.chat is live:
            session.chat = None
            session.ended = ended
            session.emails_sent = 0
        self.chats.pop(conv.id, None)
        if not session.conns:
            self._evict_session(session)
        self._drop_agent_if_idle(live.notified_agent)

    def _drop_agent_if_idle(self, agent_id: int | None) -> None:
        presence = self.agents.get(agent_id) if agent_id is not None else None
        if presence is not None and not presence.conns and not presence.chats:
            if presence.grace is not None:
                presence.grace.cancel()
            del self.agents[presence.id]


def _cancel(handle: asyncio.TimerHandle | None) -> None:
    if handle is not None:
        handle.cancel()
