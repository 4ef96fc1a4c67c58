"""A player's later word on an earlier request, from the widget: a live chat on the same
request when its team has someone free (the agent who knows it first), else kept on the
request for the team's inbox (docs/protocol.md, ``follow_up``)."""

from __future__ import annotations

import logging

from ..core.conversation import Player, Sender
from ..core.lifecycle import Event
from ..core.requests import format_request_number
from ..exceptions import ClientError, StateError, StoreError
from ..store import RequestRecord
from .chats import ChatsMixin
from .state import LiveChat, PlayerSession

__all__ = ["FollowUpsMixin"]

log = logging.getLogger("chatserver.hub")


class FollowUpsMixin(ChatsMixin):
    """A later chat on a request, or a follow-up kept for its team."""

    def can_chat_on(self, rec: RequestRecord) -> bool:
        """Whether the request's department can take a live chat now: open, someone online
        and free to take it, its queue not full."""
        department = rec.chats[-1].department if rec.chats else rec.chat.department
        if department not in self.routing.departments:
            return False
        try:
            self.check_department(department)
        except ClientError:
            return False
        return self.router.capacity(department) > 0

    def chat_on(
        self, session: PlayerSession, rec: RequestRecord, client_id: str, text: str
    ) -> LiveChat:
        """Open a live chat on ``rec`` for the session, with ``text`` as its first message;
        it goes to the request's owner (or its last agent) if they are free."""
        if session.chat is not None:
            raise StateError("wrong_state", "you already have a chat in progress")
        last = rec.chats[-1] if rec.chats else rec.chat
        player = Player(
            last.name, last.username, last.email, last.topic,
            session.locale or last.locale, last.member_id, last.verified_by, last.phone,
        )  # fmt: skip
        self._schedule_pump()
        live = self._open_chat(session, player, last.department, rec.priority, continues=rec.number)
        prefer = rec.owner_agent_id if rec.owner_agent_id is not None else last.agent_id
        self.router.enqueue(
            live.id, last.department, live.conv.created_at, priority=rec.priority, prefer=prefer
        )
        session.last_left_id = client_id
        self.post_message(live, Sender.PLAYER, client_id, text, None)
        if self.desk is not None:  # finished or waiting for them: the team's again
            self.spawn(self._chat_opened(rec.number, player.name))
        return live

    async def _chat_opened(self, number: str, name: str | None) -> None:
        assert self.desk is not None
        try:
            await self.desk.event(
                number, Event.PLAYER_MESSAGE, actor="player", changed_by=name or "player",
                note="The player opened a live chat on the request.",
            )  # fmt: skip
        except (StoreError, StateError) as exc:
            log.warning("request %s: its new chat changed nothing: %s", number, exc)

    def following(self, rec: RequestRecord, live: LiveChat | None) -> dict[str, object]:
        """The ``following`` frame: where the player's words went."""
        frame: dict[str, object] = {
            "type": "following",
            "request_number": format_request_number(rec.number),
            "live": live is not None,
            "status": rec.status,
        }
        if live is not None:
            frame["chat"] = live.id
        return frame
