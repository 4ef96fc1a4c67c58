"""The hub's state, built once in the app's lifespan, and what all its parts share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from ..bus import Bus, LocalBus
from ..config import Settings, load_routing
from ..core.conversation import Sender
from ..core.requests import format_request_number
from ..core.routing import Overflow, Router
from ..core.stats import LATENCY_BOUNDS, WAIT_BOUNDS, Buckets
from ..core.topics import RoutingConfig
from ..desk.desk import RequestDesk
from ..desk.dispatch import NotificationDispatcher
from ..desk.timers import DeskTimers
from ..directory import MemberDirectory, StoreDirectory
from ..exceptions import StoreError
from ..files import FileStore
from ..mail import Notifier
from ..pools import Pools
from ..protocol import encode, message_dict, note_dict, to_ms
from ..store import Store
from ..throttle import FailureThrottle, Window
from ..webhooks import Dispatcher
from .connection import Connection, Held
from .heartbeats import Heartbeats, ping_interval
from .state import AgentPresence, LiveChat, PlayerSession
from .supervision import Supervision
from .turns import Turns
from .waiting import Waiting
from .writer import Writer

__all__ = ["HubBase", "cancel"]


class HubBase:
    """The hub's state and what every part of it shares; ``Hub`` puts the parts together."""

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
        # failed request look-ups (a follow-up from the widget): per address, and per request
        # number from anywhere; the app shares it with its look-up pages (web.tracking)
        self.lookups = FailureThrottle("lookup", address="10/15 minutes", request="10/15 minutes")
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
        # a request's life after its chat (chatserver.desk), and its notifications' outbox
        self.desk: RequestDesk | None = None
        self.notifications: NotificationDispatcher | None = None
        self.desk_timers: DeskTimers | None = None
        self._background: set[asyncio.Task[None]] = set()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "hub not started"
        return self._loop

    @property
    def loop_or_none(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run side work (an e-mail, say) without holding up the caller; kept until done."""
        task = self.loop.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def subscribe(self, conn: Connection, topic: str) -> None:
        self.bus.subscribe(topic, conn)
        conn.topics.add(topic)

    def unsubscribe(self, conn: Connection, topic: str) -> None:
        self.bus.unsubscribe(topic, conn)
        conn.topics.discard(topic)

    def request_changed(self, number: str) -> None:
        """Tell the players looking at a request (``look_up``) that it changed."""
        shown = format_request_number(number)
        frame = encode({"type": "request_changed", "request_number": shown})
        self.bus.publish(f"request:{number}", frame)

    def _unwatch(self, live: LiveChat, agent_id: int | None) -> None:
        """The agent's consoles stop receiving the chat's frames."""
        presence = self.agents.get(agent_id) if agent_id is not None else None
        if presence is not None:
            for c in presence.conns:
                self.unsubscribe(c, live.topic)

    def poke_webhooks(self) -> None:
        """Something was queued in an outbox: the webhooks' and the notifications'."""
        if self.dispatcher is not None:
            self.dispatcher.poke()
        if self.notifications is not None:
            self.notifications.poke()

    def _schedule_pump(self) -> None:
        if self._pump_handle is None and self._loop is not None:
            self._pump_handle = self.loop.call_soon(self._pump)

    @property
    def available(self) -> bool:
        """Is any agent online to take chats?"""
        return self.router.capacity() > 0

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
            # a later chat on an earlier request (hub.followups): its number, as shown
            "continues": format_request_number(conv.continues) if conv.continues else None,
        }

    # -- what one part asks of another (each defined in its own module; see Hub) --------

    def _store_failed(self, exc: StoreError) -> None:
        raise NotImplementedError  # hub.Hub

    def _slice_started(self) -> None:
        raise NotImplementedError  # assigning

    def _pump(self) -> None:
        raise NotImplementedError  # assigning

    def requeue(self, live: LiveChat, reason: str, department: str | None = None) -> None:
        raise NotImplementedError  # assigning

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
        raise NotImplementedError  # messages

    def _system(self, live: LiveChat, event: str, text: str, name: str | None = None) -> None:
        raise NotImplementedError  # messages

    def end_chat(
        self,
        live: LiveChat,
        by: str,
        reason: str | None = None,
        *,
        resolution: str | None = None,
        note: str | None = None,
    ) -> None:
        raise NotImplementedError  # chats

    def _evict_session(self, session: PlayerSession) -> None:
        raise NotImplementedError  # sessions

    def _drop_agent_if_idle(self, agent_id: int | None) -> None:
        raise NotImplementedError  # presence


def cancel(handle: asyncio.TimerHandle | None) -> None:
    if handle is not None:
        handle.cancel()
