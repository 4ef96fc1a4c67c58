"""Messages, files and notes: accepted now, acked and relayed once committed."""

from __future__ import annotations

import asyncio
from functools import partial
from time import perf_counter
from typing import Any

from ..core.conversation import Duplicate, FileInfo, Message, Note, Sender
from ..core.files import check_count
from ..files import Kept
from ..protocol import encode, message_frame, note_dict
from ..security import new_id
from ..store import AddAttachment, AppendMessage, AppendNote
from .base import HubBase, cancel
from .connection import Connection
from .state import AgentPresence, LiveChat

__all__ = ["MessagesMixin"]


class MessagesMixin(HubBase):
    """Messages, files and notes: accepted now, acked and relayed once committed."""

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
            cancel(live.answer_timer)  # answered
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
        record = kept.record(info.id, live.id, name, msg.author_key, now)
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

    def add_note(self, live: LiveChat, agent: AgentPresence, client_id: str, text: str) -> None:
        """An internal note; every console on the chat gets it once it is stored."""
        note = live.conv.add_note(agent.id, agent.name, client_id, text, int(self.clock() * 1000))
        if note is None:
            return  # a resend: the first one is (or will be) delivered to this console too
        self.writer.submit(AppendNote(note), partial(self._note_committed, live, note))

    def _note_committed(self, live: LiveChat, note: Note) -> None:
        live.conv.note_committed(note)
        self.bus.publish(live.topic, encode({"type": "note", **note_dict(note)}))
