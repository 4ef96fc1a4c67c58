"""The store's records (what reads return) and write operations (what the hub's writer hands to
``Store.apply``): plain data, re-exported by ``store.base``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.conversation import Conversation, Message, Note, Player

# -- records -----------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class AgentRecord:
    id: int
    username: str
    name: str
    role: str
    departments: tuple[str, ...]
    max_chats: int
    disabled: bool
    created_at: float
    password_hash: str | None = field(default=None, repr=False)
    locale: str | None = None  # the console's language they chose (None: the browser's)
    kb_editor: bool = False  # may edit the knowledge base (admins always may)
    bot: bool = False  # a bot account: takes chats of bot_first topics before the queue
    privacy: bool = False  # may answer data-subject requests (admins always may)
    totp_secret: str | None = field(default=None, repr=False)  # two-factor sign-in, once set up
    totp_step: int = 0  # the time step of the last code accepted (a code works once)

    @property
    def two_factor(self) -> bool:
        return self.totp_secret is not None

    def public(self) -> dict[str, object]:
        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "role": self.role,
            "departments": list(self.departments),
            "max_chats": self.max_chats,
        }


@dataclass(slots=True, frozen=True)
class SessionRecord:
    id: str
    token_hash: bytes
    created_at: float
    locale: str | None


@dataclass(slots=True, frozen=True)
class ChatRecord:
    """A chat as stored (any state), with its request number once ended."""

    id: str
    session_id: str
    state: str
    name: str | None
    username: str | None
    email: str | None
    topic: str
    locale: str | None
    agent_id: int | None
    agent_name: str | None
    department: str
    priority: int
    member_id: str | None
    verified_by: str | None
    created_at: float
    queued_at: float
    assigned_at: float | None
    first_response_at: float | None
    ended_at: float | None
    ended_by: str | None
    last_seq: int
    request_number: str | None
    phone: str | None = None  # for SMS about the request


@dataclass(slots=True, frozen=True)
class AttachmentRecord:
    id: str
    chat_id: str
    name: str
    content_type: str
    size: int
    sha256: str
    storage_key: str
    thumb_key: str | None
    width: int | None
    height: int | None
    uploaded_by: str  # "player" or "agent:<id>"
    created_at: float
    session_id: str = ""  # the chat's player session (filled in when read)
    department: str = ""  # the chat's department and agent (filled in when read alone)
    chat_agent_id: int | None = None


@dataclass(slots=True, frozen=True)
class RequestEvent:
    at: float
    actor: str
    from_status: str | None
    to_status: str
    note: str | None
    kind: str = "status"  # status, notification, owner


@dataclass(slots=True, frozen=True)
class FollowUp:
    """A message on a request after its chat: the player's follow-up or a reply."""

    id: str
    at: float
    author: str  # "player" or "agent:<id>"
    author_name: str | None
    text: str
    file_id: str | None = None  # a file the player added (in the request's attachments)


@dataclass(slots=True, frozen=True)
class Delivery:
    """One webhook delivery in the outbox."""

    id: str
    event: str
    url: str
    body: str
    created_at: float
    attempts: int
    next_attempt_at: float
    status: str
    last_error: str | None
    delivered_at: float | None


@dataclass(slots=True, frozen=True)
class RequestRecord:
    number: str
    status: str
    created_at: float
    updated_at: float
    chat: ChatRecord
    messages: list[Message]
    resolved: bool | None = None
    rating: int | None = None
    rating_comment: str | None = None
    nps: int | None = None
    resolution: str | None = None
    resolution_note: str | None = None
    notes: list[Note] = field(default_factory=list)
    events: list[RequestEvent] = field(default_factory=list)
    attachments: list[AttachmentRecord] = field(default_factory=list)
    priority: int = 0
    owner_agent_id: int | None = None
    awaiting_since: float | None = None  # waiting for the player's "resolved?" since
    sla_due: float | None = None  # resolution due (None: no target, or its clock is paused)
    sla_breached_at: float | None = None
    reply_due: float | None = None  # the team's answer to a follow-up is due (None: none owed)
    reply_breached_at: float | None = None
    followups: list[FollowUp] = field(default_factory=list)
    # every chat of the request in order (``chat`` is the first): a player may open a live
    # chat on it again; ``messages``, ``notes`` and ``attachments`` cover them all
    chats: list[ChatRecord] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class RequestSummary:
    """One row of a request search."""

    number: str
    status: str
    created_at: float
    chat_id: str
    topic: str
    name: str | None
    username: str | None
    email: str | None
    agent_name: str | None
    resolution: str | None
    rating: int | None


@dataclass(slots=True, frozen=True)
class ConsoleSession:
    """A signed-in console: whose it is and the CSRF token its forms must carry.

    ``stage`` is ``full`` once signed in; ``totp`` while the two-factor code is awaited and
    ``enrol`` while two-factor sign-in must be set up: such a session opens no page but
    those steps."""

    agent: AgentRecord
    csrf: str
    expires_at: float
    stage: str = "full"
    ip: str | None = None


@dataclass(slots=True, frozen=True)
class TokenGrant:
    """An API token: the agent it acts for, its scopes and the departments it is limited to
    (none: no limit beyond the agent's own)."""

    id: int
    agent: AgentRecord
    scopes: tuple[str, ...]
    departments: tuple[str, ...]
    label: str = ""
    created_at: float = 0.0


@dataclass(slots=True, frozen=True)
class CannedResponse:
    id: int
    shortcut: str
    title: str
    text: str

    def public(self) -> dict[str, object]:
        return {"id": self.id, "shortcut": self.shortcut, "title": self.title, "text": self.text}


@dataclass(slots=True, frozen=True)
class FloorStats:
    """Figures for chats that ended since a moment (the start of today, say)."""

    ended: int
    avg_first_response: float | None
    avg_handle: float | None
    avg_rating: float | None
    ratings: int


# -- write operations ----------------------------------------------------------


@dataclass(slots=True)
class CreateSession:
    id: str
    token_hash: bytes
    created_at: float
    locale: str | None


@dataclass(slots=True, frozen=True)
class CreateChat:
    """A new chat as it is when the op is built."""

    id: str
    session_id: str
    player: Player
    state: str
    department: str
    priority: int
    created_at: float
    queued_at: float
    request_number: str | None = None  # the request it continues, if any

    @classmethod
    def of(cls, chat: Conversation) -> CreateChat:
        return cls(
            id=chat.id,
            session_id=chat.session_id,
            player=chat.player,
            state=chat.state.value,
            department=chat.department,
            priority=chat.priority,
            created_at=chat.created_at,
            queued_at=chat.queued_at,
            request_number=chat.continues,
        )


@dataclass(slots=True)
class SaveChat:
    """Persist the mutable fields of a chat as they are when the op is built."""

    id: str
    state: str
    agent_id: int | None
    department: str
    requeued: bool
    assigned_at: float | None
    first_response_at: float | None
    ended_at: float | None
    ended_by: str | None

    @classmethod
    def of(cls, chat: Conversation) -> SaveChat:
        return cls(
            id=chat.id,
            state=chat.state.value,
            agent_id=chat.agent_id,
            department=chat.department,
            requeued=chat.requeued,
            assigned_at=chat.assigned_at,
            first_response_at=chat.first_response_at,
            ended_at=chat.ended_at,
            ended_by=chat.ended_by,
        )


@dataclass(slots=True)
class AppendMessage:
    message: Message


@dataclass(slots=True)
class CreateRequest:
    """The request (ticket) record of an ended chat.

    ``new_number`` makes a fresh random request number; the store calls it again
    if a number is already taken, and leaves the one it stored in ``number``.
    """

    chat_id: str
    created_at: float
    new_number: Callable[[], str]
    resolution: str | None = None
    resolution_note: str | None = None
    number: str = ""
    # a complaint the agent resolved starts awaiting the player's confirmation
    # (core.lifecycle), with the hash of the secret its answer link carries
    status: str = "open"
    actor: str = "system"  # who moved it past open (the agent)
    priority: int = 0
    answer_token_hash: bytes | None = None
    sla_budget: float | None = None  # business seconds to resolve it in (core.sla)
    sla_due: float | None = None  # when, if its clock keeps running
    # more statements for the same transaction once the number is known (notifications)
    then: Callable[[str], list[tuple[str, list[tuple[object, ...]]]]] | None = None


@dataclass(slots=True, frozen=True)
class AppendNote:
    note: Note


@dataclass(slots=True, frozen=True)
class AddAttachment:
    attachment: AttachmentRecord


@dataclass(slots=True)
class EnqueueWebhooks:
    """Webhook deliveries, one per URL, in the same transaction as what they report.

    ``body`` is called when the op is applied, so it can use what earlier ops of the
    batch decided (the request number, say).
    """

    event: str
    urls: tuple[str, ...]
    body: Callable[[], dict[str, object]]
    created_at: float


@dataclass(slots=True, frozen=True)
class RecordRefusal:
    """A player we turned away (under age), kept for the record."""

    at: float
    reason: str
    member_id: str | None
    username: str | None
    email: str | None
    topic: str | None
    session_id: str | None


@dataclass(slots=True, frozen=True)
class RateRequest:
    """The player's satisfaction answer for a request (a later answer replaces it)."""

    number: str
    resolved: bool
    rating: int
    comment: str | None
    rated_at: float
    nps: int | None = None  # 0-10, "would you recommend us"


Op = (
    CreateSession
    | CreateChat
    | SaveChat
    | AddAttachment
    | AppendMessage
    | AppendNote
    | CreateRequest
    | RateRequest
    | RecordRefusal
    | EnqueueWebhooks
)
