"""Queued chats to free agents, and back: the pairing pass, assignment, the answer timer,
requeueing and transfers."""

from __future__ import annotations

import logging
from functools import partial

from ..core.conversation import ChatState
from ..core.routing import AgentStatus
from ..exceptions import StateError
from ..protocol import encode
from ..store import SaveChat
from .base import HubBase, cancel
from .state import AgentPresence, LiveChat

__all__ = ["AssigningMixin"]

log = logging.getLogger("chatserver.hub")


_REQUEUE_TEXT = {
    "agent_left": "{agent} left the chat. You are back at the front of the queue.",
    "no_answer": "{agent} could not answer. You are back at the front of the queue.",
    "requeued": "{agent} put the chat back in the queue. You are at the front.",
    "handed_off": "{agent} passed the chat to our team. You are at the front of the queue.",
}


class AssigningMixin(HubBase):
    """Queued chats to free agents, and back: the pairing pass, assignment, the answer timer,
    requeueing and transfers."""

    def _slice_started(self) -> None:
        """A slice of new chats was let in: its players' wake-ups are scheduled, so the
        pairing pass and then the writer run right behind them, in the same turn of the
        loop (the chats' own writes would wake the writer only in the next one)."""
        self._schedule_pump()
        self.writer.kick()

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
        cancel(live.answer_timer)
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
        cancel(live.answer_timer)
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

    def transfer(self, live: LiveChat, to: AgentPresence, *, take_over: bool = False) -> None:
        """Hand an active chat to another agent who is online and has room (a supervisor
        taking it over needs only to be online: they step in beyond their load)."""
        if not to.conns or (to.status is not AgentStatus.ONLINE and not take_over):
            raise StateError("agent_unavailable", f"{to.name} is not online")
        slot = self.router.agents.get(to.id)
        if slot is None or (slot.active >= slot.max_chats and not take_over):
            raise StateError("agent_unavailable", f"{to.name} has no room for another chat")
        conv = live.conv
        from_name = conv.agent_name or "The agent"
        if take_over:
            previous = conv.transfer(to.id, to.name)
            self._release(live, previous, "taken_over")
            self.router.take(to.id, self.clock())
            to.chats[live.id] = live
            self.writer.submit(SaveChat.of(conv), partial(self._assigned, live, to.id))
            self._system(live, "taken_over", f"{to.name} took over the chat.", to.name)
            return
        previous = conv.transfer(to.id, to.name)
        self._release(live, previous, "transferred")
        self.router.take(to.id, self.clock())
        to.chats[live.id] = live
        # as with any assignment: first "assigned" (with the history), then the note about it
        self.writer.submit(SaveChat.of(conv), partial(self._assigned, live, to.id))
        self._system(
            live, "transferred", f"{from_name} transferred the chat to {to.name}.", to.name
        )

    def _requeued(self, live: LiveChat) -> None:
        if live.conv.state is ChatState.QUEUED:
            live.last_queued = None
            self.waiting.send(live)
