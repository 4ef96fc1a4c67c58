"""Player sessions: resume tokens, their connections, the grace period after the last one
goes, and players who stop answering."""

from __future__ import annotations

import logging

from ..core.conversation import ChatState
from ..core.requests import format_request_number
from ..security import new_ordered_id, new_token, token_hash
from .base import HubBase
from .connection import Connection
from .state import EndedChat, PlayerSession

__all__ = ["SessionsMixin"]

log = logging.getLogger("chatserver.hub")


class SessionsMixin(HubBase):
    """Player sessions: resume tokens, their connections, the grace period after the last one
    goes, and players who stop answering."""

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
