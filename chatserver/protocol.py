"""Wire protocol v1: JSON text frames over WebSocket, ``{"type": ..., ...}``.

Inbound frames are decoded into typed structs (one union per endpoint); anything
else raises ``ProtocolError`` with a stable code:

- ``bad_json``       the frame is not JSON
- ``bad_frame``      not an object, or no string ``type``
- ``unknown_type``   a ``type`` this endpoint does not know
- ``invalid_field``  a field is missing, of the wrong type or out of range (``field`` names it)

Outbound frames are built by the small functions at the bottom and encoded once
per recipient kind. docs/protocol.md is the reference for all of it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from .core.conversation import FileInfo, Message, Note
from .exceptions import ProtocolError

__all__ = [
    "AGENT_TYPES",
    "PLAYER_TYPES",
    "AgentEnd",
    "AgentFrame",
    "AgentHello",
    "AgentMessage",
    "AgentNote",
    "Floor",
    "Monitor",
    "Roster",
    "Transfer",
    "Unmonitor",
    "AgentStatusFrame",
    "AgentTyping",
    "Handoff",
    "EmailTranscript",
    "FollowRequest",
    "LeaveMessage",
    "LookUp",
    "MyRequests",
    "PROTOCOL_VERSION",
    "Ping",
    "Pong",
    "PlayerEnd",
    "PlayerFrame",
    "PlayerHello",
    "PlayerMessage",
    "PlayerTyping",
    "Prechat",
    "Rate",
    "Escalate",
    "TakeOver",
    "decode_agent",
    "decode_player",
    "encode",
    "heartbeat_kind",
    "error_frame",
    "file_dict",
    "message_dict",
    "message_frame",
    "note_dict",
    "to_ms",
]

PROTOCOL_VERSION = 1
T = TypeVar("T")

ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
ChatId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Seq = Annotated[int, msgspec.Meta(ge=0)]


class _Frame(msgspec.Struct, tag_field="type"):
    pass


# -- player endpoint /ws/player ----------------------------------------------


class PlayerHello(_Frame, tag="hello"):
    v: int
    resume: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    last_seq: Seq | None = None
    locale: Annotated[str, msgspec.Meta(max_length=16)] | None = None


Identity = Annotated[str, msgspec.Meta(max_length=4096)]


class Prechat(_Frame, tag="prechat"):
    topic: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    age_confirmed: bool
    name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    username: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None  # for SMS updates
    # the platform's signed identity token for a logged-in member
    identity: Identity | None = None


class PlayerMessage(_Frame, tag="message"):
    id: ClientId
    text: str


class PlayerTyping(_Frame, tag="typing"):
    active: bool


class LeaveMessage(_Frame, tag="leave_message"):
    """The offline form: a message that becomes a request without a live chat."""

    id: ClientId
    topic: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    age_confirmed: bool
    email: Annotated[str, msgspec.Meta(max_length=254)]
    text: str
    name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    username: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    identity: Identity | None = None


class Rate(_Frame, tag="rate"):
    """The player's answer after a chat ended: resolved or not, and 1 to 5."""

    resolved: bool
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    # "how likely are you to recommend us?", 0 to 10 (optional)
    nps: Annotated[int, msgspec.Meta(ge=0, le=10)] | None = None


Link = Annotated[str, msgspec.Meta(max_length=200)]


class LookUp(_Frame, tag="look_up"):
    """The player asks to see an earlier request: its number and their e-mail or username,
    or its number and the platform's identity token of its member, or the secret of a
    notification's link (``#cs-request=``)."""

    number: Annotated[str, msgspec.Meta(max_length=40)] = ""
    contact: Annotated[str, msgspec.Meta(max_length=254)] = ""
    link: Link | None = None
    identity: Identity | None = None


class MyRequests(_Frame, tag="my_requests"):
    """A signed-in member's own requests (the platform's identity token)."""

    identity: Identity


class FollowRequest(_Frame, tag="follow_up"):
    """The player writes on an earlier request (its number and their e-mail or username):
    a live chat on it if its team has someone free, else kept for the team."""

    id: ClientId
    text: str
    number: Annotated[str, msgspec.Meta(max_length=40)] = ""
    contact: Annotated[str, msgspec.Meta(max_length=254)] = ""
    link: Link | None = None
    identity: Identity | None = None


class PlayerEnd(_Frame, tag="end"):
    pass


class EmailTranscript(_Frame, tag="email_transcript"):
    """After a chat: send its transcript and request number to the player's e-mail."""


class Ping(_Frame, tag="ping"):
    pass


class Pong(_Frame, tag="pong"):
    """The answer to the server's ``ping``."""


PlayerFrame = (
    PlayerHello
    | Prechat
    | PlayerMessage
    | PlayerTyping
    | PlayerEnd
    | LeaveMessage
    | Rate
    | EmailTranscript
    | FollowRequest
    | LookUp
    | MyRequests
    | Ping
    | Pong
)

# -- agent endpoint /ws/agent ------------------------------------------------


class AgentHello(_Frame, tag="hello"):
    v: int
    token: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    status: Literal["online", "away", "offline"] | None = None
    # last seq the console has seen per chat, so welcome replays only what it missed
    chats: dict[ChatId, Seq] | None = None


class AgentStatusFrame(_Frame, tag="status"):
    status: Literal["online", "away", "offline"]


class AgentMessage(_Frame, tag="message"):
    chat: ChatId
    id: ClientId
    text: str


class AgentTyping(_Frame, tag="typing"):
    chat: ChatId
    active: bool


class AgentEnd(_Frame, tag="end"):
    chat: ChatId
    resolution: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class AgentNote(_Frame, tag="note"):
    """An internal note: other agents see it, the player never does."""

    chat: ChatId
    id: ClientId
    text: str


class Transfer(_Frame, tag="transfer"):
    """To another agent (``to`` = their id), or back to a queue (``department``, or the
    chat's own when neither is given)."""

    chat: ChatId
    to: int | None = None
    department: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class Roster(_Frame, tag="roster"):
    pass


class Floor(_Frame, tag="floor"):
    watch: bool


class Handoff(_Frame, tag="handoff"):
    """A bot gives its chat to people: why, and a summary for the agent who takes it."""

    chat: ChatId
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    summary: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class Escalate(_Frame, tag="escalate"):
    """An agent asks supervisors to step in on their live chat, saying why."""

    chat: ChatId
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class TakeOver(_Frame, tag="take_over"):
    """A supervisor takes a live chat over from its agent."""

    chat: ChatId


class Monitor(_Frame, tag="monitor"):
    chat: ChatId


class Unmonitor(_Frame, tag="unmonitor"):
    chat: ChatId


AgentFrame = (
    AgentHello
    | AgentStatusFrame
    | AgentMessage
    | AgentTyping
    | AgentEnd
    | AgentNote
    | Transfer
    | Handoff
    | Roster
    | Floor
    | Monitor
    | Unmonitor
    | Escalate
    | TakeOver
    | Ping
    | Pong
)

_player_decoder: msgspec.json.Decoder[PlayerFrame] = msgspec.json.Decoder(PlayerFrame)
_agent_decoder: msgspec.json.Decoder[AgentFrame] = msgspec.json.Decoder(AgentFrame)
PLAYER_TYPES = (
    "hello",
    "follow_up",
    "look_up",
    "my_requests",
    "prechat",
    "message",
    "typing",
    "end",
    "leave_message",
    "rate",
    "email_transcript",
    "ping",
    "pong",
)
AGENT_TYPES = (
    "hello",
    "status",
    "message",
    "typing",
    "end",
    "note",
    "transfer",
    "roster",
    "floor",
    "monitor",
    "unmonitor",
    "handoff",
    "escalate",
    "take_over",
    "ping",
    "pong",
)

_AT = re.compile(r" - at `\$\.([A-Za-z_]+)")
_MISSING = re.compile(r"missing required field `([A-Za-z_]+)`")


def decode_player(text: str) -> PlayerFrame:
    """Decode one frame from a player; raises ProtocolError."""
    return _decode(_player_decoder, PLAYER_TYPES, text)


def decode_agent(text: str) -> AgentFrame:
    """Decode one frame from an agent; raises ProtocolError."""
    return _decode(_agent_decoder, AGENT_TYPES, text)


# No frame of the protocol nests deeper than a few levels; a deeper one is refused
# before it is decoded (decoding recurses once per level).
MAX_DEPTH = 16
_NESTING = re.compile(r'"(?:[^"\\]+|\\.)*"|[\[\]{}]')


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """True if ``text`` opens more than ``limit`` arrays or objects inside each other.
    (Brackets inside strings do not count; a frame with few brackets is not scanned.)"""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for m in _NESTING.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _decode(decoder: msgspec.json.Decoder[T], known: tuple[str, ...], text: str) -> T:
    if too_deep(text):
        raise ProtocolError("bad_frame", f"the frame nests more than {MAX_DEPTH} levels deep")
    try:
        return decoder.decode(text)
    except msgspec.ValidationError as exc:
        raise _translate(exc, known) from None
    except msgspec.DecodeError:
        raise ProtocolError("bad_json", "the frame is not valid JSON") from None
    except RecursionError:  # (deep nesting the scan did not see: never expected)
        raise ProtocolError("bad_frame", "the frame nests too deeply") from None


def _translate(exc: msgspec.ValidationError, known: tuple[str, ...]) -> ProtocolError:
    detail = str(exc)
    at = _AT.search(detail)
    missing = _MISSING.search(detail)
    field = at.group(1) if at else missing.group(1) if missing else None
    if field == "type":
        if detail.startswith("Invalid value"):
            return ProtocolError(
                "unknown_type",
                f"unknown frame type; this endpoint accepts {', '.join(known)}",
                field="type",
            )
        return ProtocolError("bad_frame", "a frame needs a string 'type'", field="type")
    if field is None:
        return ProtocolError("bad_frame", "a frame is a JSON object with a 'type'")
    return ProtocolError("invalid_field", _AT.sub("", detail), field=field)


# -- outbound ----------------------------------------------------------------

_encoder = msgspec.json.Encoder()


def to_ms(t: float | None) -> int | None:
    """Epoch seconds as the epoch milliseconds every timestamp on the wire uses."""
    return None if t is None else int(t * 1000)


class _Kind(msgspec.Struct):
    type: str = ""


_kind_decoder = msgspec.json.Decoder(_Kind)


def heartbeat_kind(text: str) -> str | None:
    """``"ping"`` or ``"pong"`` for a well-formed heartbeat frame, else None (an edge node
    keeps its clients' heartbeats itself; everything else goes to the hub)."""
    if len(text) > 256 or ('"ping"' not in text and '"pong"' not in text):
        return None
    try:
        kind = _kind_decoder.decode(text).type
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return kind if kind in ("ping", "pong") else None


def encode(frame: dict[str, Any]) -> str:
    """One outbound frame as JSON text."""
    return _encoder.encode(frame).decode()


def message_frame(msg: Message, *, chat: bool) -> dict[str, Any]:
    """A stored message as sent to clients; agents also get the ``chat`` id."""
    out: dict[str, Any] = {
        "type": "message",
        "seq": msg.seq,
        "id": msg.id,
        "from": msg.sender.value,
        "text": msg.text,
        "ts": msg.ts,
    }
    if msg.author_name is not None:
        out["name"] = msg.author_name
    if msg.event is not None:
        out["event"] = msg.event
    if msg.file is not None:
        out["file"] = file_dict(msg.file)
    if chat:
        out["chat"] = msg.chat_id
    return out


def file_dict(f: FileInfo) -> dict[str, Any]:
    """An attachment on the wire: what it is, and where to fetch it (with credentials)."""
    out: dict[str, Any] = {
        "id": f.id,
        "name": f.name,
        "type": f.content_type,
        "size": f.size,
        "sha256": f.sha256,
        "url": f"/api/files/{f.id}",
    }
    if f.width is not None:
        out["width"], out["height"] = f.width, f.height
    if f.thumbnail:
        out["thumbnail_url"] = f"/api/files/{f.id}/thumbnail"
    return out


def message_dict(msg: Message) -> dict[str, Any]:
    """A message inside ``history`` lists and transcripts (no ``type``)."""
    out = message_frame(msg, chat=False)
    del out["type"]
    return out


def note_dict(note: Note) -> dict[str, Any]:
    """An internal note as agents get it (inside ``note`` frames and chat summaries)."""
    return {
        "chat": note.chat_id,
        "id": note.id,
        "agent": {"id": note.agent_id, "name": note.author_name},
        "text": note.text,
        "ts": note.ts,
        "after_seq": note.after_seq,
    }


def error_frame(error: dict[str, object]) -> dict[str, Any]:
    return {"type": "error", **error}
