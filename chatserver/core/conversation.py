"""One chat's lifecycle and message log, as a pure state machine.

States: ``queued -> active -> ended``, with ``active -> queued`` when the agent is
lost or the chat goes back to the queue. (``prechat`` is the state of a player
session with no chat yet; see ``session_state``.) Illegal transitions raise
``StateError``; nothing here awaits, reads a clock or touches a socket.

Messages get a per-chat ``seq`` (1, 2, 3 ... without gaps) when accepted. A
client-made ``id`` is remembered per author, so a resend returns the same seq
instead of a new message. A message is *pending* from acceptance until the store
has committed it; only committed messages are in ``messages`` and may be relayed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import msgspec

from ..exceptions import LimitError, StateError

__all__ = [
    "Appended",
    "ChatState",
    "Conversation",
    "Duplicate",
    "FileInfo",
    "Message",
    "Note",
    "Player",
    "Sender",
    "clean_text",
    "session_state",
]

# C0 controls except tab, newline and CR (see clean_text), plus DEL: never meaningful
# in a chat message
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """A message as we store it: control characters removed, line breaks as LF."""
    # (a scan that finds nothing is the usual case, and several times faster than
    # str.translate, which looks every character up in a mapping)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


class ChatState(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    ENDED = "ended"


class Sender(StrEnum):
    PLAYER = "player"
    AGENT = "agent"
    SYSTEM = "system"


_ALLOWED: dict[ChatState, frozenset[ChatState]] = {
    ChatState.QUEUED: frozenset({ChatState.ACTIVE, ChatState.ENDED}),
    ChatState.ACTIVE: frozenset({ChatState.QUEUED, ChatState.ENDED}),
    ChatState.ENDED: frozenset(),
}


@dataclass(slots=True, frozen=True)
class Player:
    """Who the player said they are in the pre-chat form."""

    name: str | None
    username: str | None
    email: str | None
    topic: str
    locale: str | None = None
    member_id: str | None = None
    verified_by: str | None = None  # "token" | "directory"; None for guests
    phone: str | None = None  # for SMS about the request (+ and digits), if they gave one

    def public(self) -> dict[str, object]:
        return {
            "name": self.name,
            "username": self.username,
            "email": self.email,
            "topic": self.topic,
            "verified": self.verified_by is not None,
            "verified_by": self.verified_by,
            "member_id": self.member_id,
            "phone": self.phone,
        }


class FileInfo(msgspec.Struct, frozen=True, gc=False):
    """An attachment as a message carries it (the bytes are in the file store)."""

    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None
    thumbnail: bool = False


class Message(msgspec.Struct, frozen=True, gc=False):
    """A stored chat message. ``ts`` is epoch milliseconds.

    Not tracked by the garbage collector (``gc=False``; its fields are strings, numbers
    and a ``FileInfo``, so it can be in no reference cycle): a live chat keeps all its
    messages, and every tracked object that stays alive is one more the collector walks
    in each young collection (bench/HISTORY.md, "Where the time goes")."""

    chat_id: str
    seq: int
    id: str
    sender: Sender
    text: str
    ts: int
    agent_id: int | None = None
    author_name: str | None = None
    event: str | None = None
    file: FileInfo | None = None

    @property
    def author_key(self) -> str:
        return _author_key(self.sender, self.agent_id)


@dataclass(slots=True, frozen=True)
class Note:
    """An internal note: agents see it, the player never does.

    Notes are not in the player's message sequence; ``after_seq`` is the last
    message seq when the note was written, which places it in the conversation.
    """

    chat_id: str
    id: str
    agent_id: int
    author_name: str
    text: str
    after_seq: int
    ts: int


@dataclass(slots=True, frozen=True)
class Appended:
    """A new message was accepted with this seq; it is pending until committed."""

    message: Message


@dataclass(slots=True, frozen=True)
class Duplicate:
    """A resend of an id already accepted; ``committed`` says whether it can be acked now."""

    seq: int
    committed: bool


def _author_key(sender: Sender, agent_id: int | None) -> str:
    return f"agent:{agent_id}" if sender is Sender.AGENT else sender.value


def session_state(chat: Conversation | None) -> str:
    """The state a player session reports: ``prechat`` until it has a chat."""
    return "prechat" if chat is None else chat.state.value


@dataclass(slots=True, eq=False)
class Conversation:
    """A chat between one player session and at most one agent at a time."""

    id: str
    session_id: str
    player: Player
    created_at: float
    state: ChatState = ChatState.QUEUED
    department: str = "general"
    priority: int = 0
    queued_at: float = 0.0
    requeued: bool = False
    agent_id: int | None = None
    agent_name: str | None = None
    assigned_at: float | None = None
    first_response_at: float | None = None
    ended_at: float | None = None
    ended_by: str | None = None
    request_number: str | None = None
    # the request a player's later chat continues (canonical number); None: a new request
    continues: str | None = None
    last_seq: int = 0
    committed_seq: int = 0
    # the committed messages kept in memory: seq ``kept_from`` onwards, at most about
    # ``memory_chars`` characters of text (older ones are in the store only)
    messages: list[Message] = field(default_factory=list)
    kept_from: int = 1
    kept_chars: int = 0
    memory_chars: int = 262_144
    files: list[FileInfo] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    # author key + NUL + client id -> seq (a string, which the collector never tracks,
    # unlike a tuple: see Message)
    _ids: dict[str, int] = field(default_factory=dict)
    _note_ids: set[tuple[int, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not self.queued_at:
            self.queued_at = self.created_at

    # -- lifecycle -----------------------------------------------------------

    def _move(self, to: ChatState) -> None:
        if to not in _ALLOWED[self.state]:
            raise StateError(message=f"chat {self.id} is {self.state}, cannot become {to}")
        self.state = to

    def assign(self, agent_id: int, agent_name: str, now: float) -> None:
        """queued -> active with this agent."""
        self._move(ChatState.ACTIVE)
        self.agent_id = agent_id
        self.agent_name = agent_name
        self.assigned_at = now

    def transfer(self, agent_id: int, agent_name: str) -> int:
        """active -> active with another agent; returns the agent who handed it over."""
        if self.state is not ChatState.ACTIVE or self.agent_id is None:
            raise StateError(message=f"chat {self.id} is {self.state}, it cannot be transferred")
        if agent_id == self.agent_id:
            raise StateError("wrong_state", "the chat is already yours")
        previous = self.agent_id
        self.agent_id = agent_id
        self.agent_name = agent_name
        return previous

    def requeue(self) -> int | None:
        """active -> queued, ahead of everyone who never had an agent; returns the lost agent.

        ``queued_at`` keeps the first arrival, so among requeued chats the one
        that has waited longest overall goes first.
        """
        self._move(ChatState.QUEUED)
        lost = self.agent_id
        self.agent_id = None
        self.agent_name = None
        self.requeued = True
        return lost

    def end(self, by: str, now: float) -> None:
        """queued|active -> ended."""
        self._move(ChatState.ENDED)
        self.ended_by = by
        self.ended_at = now

    # -- messages ------------------------------------------------------------

    def append(
        self,
        sender: Sender,
        client_id: str,
        text: str,
        now_ms: int,
        *,
        agent_id: int | None = None,
        author_name: str | None = None,
        event: str | None = None,
        file: FileInfo | None = None,
        max_messages: int | None = None,
    ) -> Appended | Duplicate:
        """Accept a message (or recognise a resend). Raises StateError once ended."""
        key = f"{_author_key(sender, agent_id)}\x00{client_id}"
        seq = self._ids.get(key)
        if seq is not None:
            return Duplicate(seq=seq, committed=seq <= self.committed_seq)
        if self.state is ChatState.ENDED:
            raise StateError(message="this chat has ended")
        if sender is Sender.AGENT and (
            self.state is not ChatState.ACTIVE or agent_id != self.agent_id
        ):
            raise StateError("not_your_chat", "this chat is not assigned to you")
        if (
            max_messages is not None
            and sender is not Sender.SYSTEM
            and self.last_seq >= max_messages
        ):
            raise LimitError("chat_limit_reached", "this chat has reached its message limit")
        self.last_seq += 1
        self._ids[key] = self.last_seq
        if sender is Sender.AGENT and self.first_response_at is None:
            self.first_response_at = now_ms / 1000
        msg = Message(
            chat_id=self.id,
            seq=self.last_seq,
            id=client_id,
            sender=sender,
            text=text,
            ts=now_ms,
            agent_id=agent_id,
            author_name=author_name,
            event=event,
            file=file,
        )
        return Appended(msg)

    def add_note(
        self, agent_id: int, author_name: str, client_id: str, text: str, now_ms: int
    ) -> Note | None:
        """A new note, or None if this agent already wrote one with this id (a resend)."""
        if self.state is ChatState.ENDED:
            raise StateError(message="this chat has ended")
        key = (agent_id, client_id)
        if key in self._note_ids:
            return None
        self._note_ids.add(key)
        return Note(self.id, client_id, agent_id, author_name, text, self.last_seq, now_ms)

    def note_committed(self, note: Note) -> None:
        self.notes.append(note)

    def committed(self, msg: Message) -> None:
        """The store has committed ``msg``; it is now part of the log."""
        if msg.seq != self.committed_seq + 1:
            raise StateError(
                "seq_gap", f"chat {self.id}: committed seq {msg.seq} after {self.committed_seq}"
            )
        self.committed_seq = msg.seq
        self.messages.append(msg)
        if msg.file is not None:
            self.files.append(msg.file)
        self.kept_chars += len(msg.text)
        if self.kept_chars > self.memory_chars:
            self.trim()

    def trim(self) -> None:
        """Called when over ``memory_chars``: keep the newest messages within three
        quarters of the budget (so trimming happens once per quarter of it, not on
        every message), and at least one."""
        chars, keep = 0, len(self.messages)
        while keep > 1 and chars + len(self.messages[keep - 1].text) <= self.memory_chars * 3 // 4:
            keep -= 1
            chars += len(self.messages[keep].text)
        if keep == len(self.messages):
            keep -= 1  # the newest alone is over the budget: keep it anyway
            chars = len(self.messages[-1].text)
        del self.messages[:keep]
        self.kept_from += keep
        self.kept_chars = chars

    def restore(self, messages: Sequence[Message], notes: Sequence[Note] = ()) -> None:
        """Load the committed log (after a restart)."""
        for msg in messages:
            self._ids[f"{msg.author_key}\x00{msg.id}"] = msg.seq
            self.committed(msg)
        self.last_seq = self.committed_seq
        for note in notes:
            self._note_ids.add((note.agent_id, note.id))
            self.notes.append(note)

    @property
    def file_count(self) -> int:
        return len(self.files)

    def after(self, seq: int) -> list[Message]:
        """Committed messages in memory with a seq greater than ``seq``: all of them when
        ``has_after(seq)``, else the caller reads the older ones from the store."""
        return self.messages[max(seq + 1 - self.kept_from, 0) :]

    def has_after(self, seq: int) -> bool:
        """Are all committed messages after ``seq`` in memory?"""
        return seq + 1 >= self.kept_from

    def message(self, seq: int) -> Message | None:
        """The committed message ``seq``, if it is in memory."""
        index = seq - self.kept_from
        return self.messages[index] if 0 <= index < len(self.messages) else None
