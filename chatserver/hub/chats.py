"""A chat's life around the conversation: opening it (if its department can take it), the
offline message, the end and its request, the player's rating, refusals."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from ..core.conversation import ChatState, Conversation, Player, Sender
from ..core.lifecycle import Event
from ..core.requests import format_request_number, parse_request_number, request_number_from_bits
from ..core.topics import Topic
from ..exceptions import ClientError, StateError, StoreError
from ..protocol import encode, to_ms
from ..security import new_ordered_id
from ..store import (
    CreateChat,
    CreateRequest,
    CreateSession,
    EnqueueWebhooks,
    Op,
    RateRequest,
    RecordRefusal,
    SaveChat,
)
from ..webhooks import chat_ended_body, request_created_body, request_updated_body
from .base import HubBase, cancel
from .state import EndedChat, LiveChat, PlayerSession

__all__ = ["ChatsMixin"]

log = logging.getLogger("chatserver.hub")


_ENDED_TEXT = {
    "player": "The player ended the chat.",
    "agent": "{agent} ended the chat.",
    "system": "The chat was closed.",
}


def _new_request_number() -> str:
    return request_number_from_bits(secrets.randbits(45))


class ChatsMixin(HubBase):
    """A chat's life around the conversation: opening it (if its department can take it), the
    offline message, the end and its request, the player's rating, refusals."""

    def _open_chat(
        self,
        session: PlayerSession,
        player: Player,
        department: str,
        priority: int,
        continues: str | None = None,
    ) -> LiveChat:
        conv = Conversation(
            id=new_ordered_id("c_"),
            session_id=session.id,
            player=player,
            created_at=self.clock(),
            department=department,
            priority=priority,
            memory_chars=self.settings.live_chat_memory_chars,
        )
        conv.continues = continues
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
        self.check_department(topic.department, bot_first=topic.bot_first)

    def check_department(self, department: str, *, bot_first: bool = False) -> None:
        """Refuse a new chat (``service_offline``) ``department`` cannot take now: closed,
        nobody there, or its queue full."""
        dep = self.routing.department(department)
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
        queue = self.router.entry_queue(dep.id, bot_first=bot_first)
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
        live = self._open_chat(session, player, topic.department, topic.priority)
        queue = self.router.entry_queue(topic.department, bot_first=topic.bot_first)
        self.router.enqueue(live.id, queue, live.conv.created_at, priority=topic.priority)
        return live

    def _chat_created(self, live: LiveChat) -> None:
        live.created = True
        if live.conv.state is ChatState.QUEUED:
            self.waiting.send(live)

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
        live = self._open_chat(session, player, topic.department, topic.priority)
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
                    "request.updated",
                    self.settings.hooks("request.updated"),
                    lambda: body,
                    op.rated_at,
                )
            )
        self.writer.submit_group(
            group, partial(self._rated, session.topic, frame, op.number, resolved)
        )

    def _rated(self, topic: str, frame: str, number: str, resolved: bool) -> None:
        self.bus.publish(topic, frame)
        self.poke_webhooks()
        if self.desk is not None:  # a complaint awaiting their word: closed, or escalated
            self.spawn(self._answered(number, resolved))

    async def _answered(self, number: str, resolved: bool) -> None:
        assert self.desk is not None
        try:
            await self.desk.answer(number, resolved)
        except (StoreError, StateError) as exc:
            log.warning("request %s: the player's answer was not applied: %s", number, exc)

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
        cancel(live.answer_timer)
        live.answer_timer = None
        if conv.continues is not None:  # a later chat on an older request (hub.followups)
            self._end_continued(live, conv.continues, by, reason, resolution, note)
            return
        request = CreateRequest(
            conv.id, now, _new_request_number, resolution, note, priority=conv.priority
        )
        self._request_life(request, conv, resolution, live.escalated)
        group: list[Op] = [SaveChat.of(conv), request]
        if self.settings.webhook_urls:
            files = list(conv.files)

            def ended_body() -> dict[str, object]:
                body = chat_ended_body(
                    conv, request.number, self.settings.base_url, files, resolution
                )
                body["request"]["status"] = request.status
                return body

            group.append(
                EnqueueWebhooks(
                    "request.created", self.settings.hooks("request.created"),
                    lambda: request_created_body(
                        request.number, self.settings.base_url, conv, request.status,
                        request.priority, request.sla_due,
                    ),
                    now,
                )
            )  # fmt: skip
            group.append(
                EnqueueWebhooks("chat.ended", self.settings.hooks("chat.ended"), ended_body, now)
            )
            if request.status in ("awaiting_confirmation", "escalated"):
                group.append(
                    EnqueueWebhooks(
                        f"request.{request.status}",
                        self.settings.hooks(f"request.{request.status}"),
                        lambda: request_updated_body(
                            request.number, self.settings.base_url,
                            status=request.status, changed_by=conv.agent_name,
                        ),
                        now,
                    )
                )  # fmt: skip
        # the chat's end, its request and the webhook commit together or not at all
        self.writer.submit_group(group, lambda: self._ended(live, request.number, by, reason))

    def _end_continued(
        self,
        live: LiveChat,
        number: str,
        by: str,
        reason: str | None,
        resolution: str | None,
        note: str | None,
    ) -> None:
        """The end of a later chat on a request: it keeps its number; the agent's
        resolution (or escalation) then moves the request through the desk."""
        conv = live.conv
        group: list[Op] = [SaveChat.of(conv)]
        if self.settings.webhook_urls:
            files = list(conv.files)
            base = self.settings.base_url
            group.append(
                EnqueueWebhooks(
                    "chat.ended", self.settings.hooks("chat.ended"),
                    lambda: chat_ended_body(conv, number, base, files, resolution), self.clock(),
                )
            )  # fmt: skip

        def done() -> None:
            self._ended(live, number, by, reason)
            if self.desk is not None:
                self.spawn(self._after_chat(number, conv, resolution, note, live.escalated))

        self.writer.submit_group(group, done)

    async def _after_chat(
        self,
        number: str,
        conv: Conversation,
        resolution: str | None,
        note: str | None,
        escalated: str | None,
    ) -> None:
        """Resolved in the chat: resolved (a complaint awaits the player's word); escalated
        in it: with the supervisors. Otherwise the request stays the team's."""
        assert self.desk is not None
        late = self.desk.first_response_missed(conv, conv.ended_at or self.clock())
        if late is not None:  # its first answer came later than its target
            rows = self.desk.first_response_rows(number, late, self.clock())
            try:
                await self.store.record(rows)
            except StoreError as exc:
                log.warning("request %s: its late first answer was not recorded: %s", number, exc)
        if resolution == "resolved":
            event = Event.RESOLVE
        elif escalated is not None:
            event, note = Event.ESCALATE, note or escalated
        else:
            return
        actor = f"agent:{conv.agent_id}" if conv.agent_id is not None else "system"
        try:
            await self.desk.event(
                number, event, actor=actor, changed_by=conv.agent_name or "system", note=note
            )
        except (StoreError, StateError) as exc:
            log.warning("request %s: the end of its later chat changed nothing: %s", number, exc)

    def _request_life(
        self,
        request: CreateRequest,
        conv: Conversation,
        resolution: str | None,
        escalated: str | None = None,
    ) -> None:
        """What the new request starts as, and whom it tells: its number to the player at
        once (e-mail, SMS; at most ``emails_per_recipient_per_day`` to one address, since a
        guest may type anyone's); a complaint resolved by the agent awaits the player's
        confirmation, asked with a link (core.lifecycle)."""
        desk = self.desk
        if desk is None:
            return
        p = conv.player
        link = None
        if resolution == "resolved" and desk.confirm_close(p.topic):
            link, request.answer_token_hash = desk.answer_link(p.locale)
            request.status = "awaiting_confirmation"
            request.actor = f"agent:{conv.agent_id}" if conv.agent_id is not None else "system"
        elif escalated is not None and resolution != "resolved":
            # an agent asked supervisors in during the chat: the request starts with them
            request.status = "escalated"
            request.priority = min(9, request.priority + 1)
            request.actor = f"agent:{conv.agent_id}" if conv.agent_id is not None else "system"
            request.resolution_note = request.resolution_note or escalated
        # its resolution target; a complaint awaiting the player starts with the clock paused
        request.sla_budget, due = desk.sla_start(
            p.topic, conv.priority, conv.department, request.created_at
        )
        request.sla_due = due if request.status in ("open", "escalated") else None
        s = self.settings
        sendable = p.email if p.email and s.smtp_host else None
        email = (
            sendable if sendable and not self.mail_recipients.take(sendable.casefold()) else None
        )
        phone = (
            p.phone if p.phone and s.sms_url and not self.mail_recipients.take(p.phone) else None
        )

        late = desk.first_response_missed(conv, request.created_at)

        def then(number: str) -> list[tuple[str, list[tuple[object, ...]]]]:
            rows = desk.notifications(
                number, "created", "open", email=email, phone=phone, locale=p.locale
            )
            if late is not None:  # its first answer came later than its target
                rows += desk.first_response_rows(number, late, request.created_at)
            if link is not None:
                rows += desk.notifications(
                    number, "awaiting_confirmation", "awaiting_confirmation",
                    email=p.email, phone=p.phone, locale=p.locale, answer=link,
                )  # fmt: skip
            return rows

        request.then = then

    def _ended(self, live: LiveChat, number: str, by: str, reason: str | None) -> None:
        self.poke_webhooks()
        conv = live.conv
        conv.request_number = number
        ended = EndedChat(conv.id, format_request_number(number), conv.committed_seq, by, reason)
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
