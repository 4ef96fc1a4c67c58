"""The Store interface, its records and the write operations it applies.

Writes that belong to live chats are *operations* (plain data) that the hub's
writer hands to ``Store.apply`` in batches: one transaction per batch (group
commit). Everything in a batch commits or nothing does. Administrative writes
(agents, tokens) are ordinary methods with their own transaction.

Implementations translate driver errors into ``StoreError`` at this boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..core.conversation import Conversation, Message, Note, Player
from ..core.identity import Member
from ..core.lifecycle import Event
from ..privacy.policy import Scope
from .kb import KbStore
from .privacy import PrivacyStore
from .qa import QaStore
from .reports import ReportStore
from .transitions import Extras, Notification, Timing, Transition

__all__ = [
    "AddAttachment",
    "AgentRecord",
    "AttachmentRecord",
    "Delivery",
    "EnqueueWebhooks",
    "FollowUp",
    "RequestEvent",
    "AppendMessage",
    "AppendNote",
    "CannedResponse",
    "ConsoleSession",
    "FloorStats",
    "RequestSummary",
    "ChatRecord",
    "CreateChat",
    "CreateRequest",
    "CreateSession",
    "Op",
    "RateRequest",
    "RecordRefusal",
    "RequestRecord",
    "SaveChat",
    "SessionRecord",
    "LifecycleStore",
    "Store",
    "TokenGrant",
]


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
    followups: list[FollowUp] = field(default_factory=list)


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


class LifecycleStore(Protocol):
    async def transition(
        self,
        number: str,
        event: Event,
        *,
        confirm_close: bool,
        actor: str,
        note: str | None,
        now: float,
        answer_token_hash: bytes | None = None,
        extras: Extras | None = None,
        timing: Timing | None = None,
    ) -> tuple[Transition, RequestRecord]:
        """Apply ``event`` (StateError if it may not happen, NotFoundError if there is no such
        request) with its history entry and what ``extras`` adds, in one transaction."""
        ...

    async def change_request_status(
        self,
        number: str,
        wanted: str,
        *,
        actor: str,
        note: str | None,
        now: float,
        webhooks: EnqueueWebhooks | None = None,
        confirm_close: bool = False,
    ) -> RequestRecord:
        """Move a request to ``wanted`` (through the lifecycle's event for it)."""
        ...

    async def take_request(self, number: str, agent_id: int, *, actor: str, now: float) -> bool:
        """The agent owns the request from now (recorded in its history)."""
        ...

    async def sla_overdue(self, now: float, limit: int) -> list[str]: ...

    async def mark_breached(
        self, number: str, now: float, rows: list[tuple[str, list[tuple[object, ...]]]]
    ) -> bool:
        """Mark a request's missed resolution target once, with its history and ``rows``."""
        ...

    async def request_by_answer_token(self, token_hash: bytes) -> str | None: ...

    async def requests_in(
        self, statuses: Sequence[str], limit: int, *, by_due: bool = False
    ) -> list[RequestRecord]:
        """Requests in these statuses, highest priority and oldest change first (``by_due``:
        soonest resolution target first)."""
        ...

    async def awaiting_since_before(self, cutoff: float, limit: int) -> list[str]: ...

    async def notifications_of(self, number: str) -> list[dict[str, object]]: ...

    async def due_notifications(self, now: float, limit: int) -> list[Notification]: ...

    async def notification_result(
        self, item: Notification, *, now: float, error: str | None, retry_at: float | None
    ) -> None:
        """Sent (recorded in the request's history), to be retried, or failed for good."""
        ...

    async def next_notification_at(self) -> float | None: ...


class Store(KbStore, LifecycleStore, PrivacyStore, QaStore, ReportStore, Protocol):
    """Persistence for chats, messages, requests, sessions, agents and tokens."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def migrate(self) -> list[int]:
        """Apply pending schema migrations; returns the versions applied."""
        ...

    async def claim(self, wait: float) -> bool:
        """Become the one hub using this database, until ``close``: waits up to ``wait``
        seconds for another server to let go; False if it did not."""
        ...

    async def claim_held(self) -> bool:
        """Is the claim still ours? (A lost database connection loses it.)"""
        ...

    async def ping(self) -> None:
        """Raise StoreError unless the store answers."""
        ...

    async def apply(self, ops: Sequence[Op]) -> None:
        """Apply ops in order in one transaction."""
        ...

    # -- reads for the hub --

    async def live_chats(self) -> list[tuple[Conversation, SessionRecord]]:
        """Every chat not ended, with its committed messages and its session."""
        ...

    async def session_by_token(self, token_hash: bytes) -> SessionRecord | None: ...

    async def latest_chat(self, session_id: str) -> ChatRecord | None: ...

    async def messages(self, chat_id: str, after_seq: int = 0) -> list[Message]: ...

    async def request(self, number: str) -> RequestRecord | None: ...

    # -- agents and tokens --

    async def add_agent(
        self,
        *,
        username: str,
        name: str,
        password_hash: str | None,
        role: str,
        departments: Sequence[str],
        max_chats: int,
        now: float,
    ) -> AgentRecord: ...

    async def list_agents(self) -> list[AgentRecord]: ...

    async def agent(self, agent_id: int) -> AgentRecord | None: ...

    async def agent_by_username(self, username: str) -> AgentRecord | None: ...

    async def add_token(
        self,
        agent_id: int,
        token_hash: bytes,
        label: str,
        now: float,
        *,
        scopes: Sequence[str] = ("requests:read", "requests:write", "files:read"),
        departments: Sequence[str] = (),
    ) -> int: ...

    async def token_grant(self, token_hash: bytes) -> TokenGrant | None:
        """The live token with this hash, its agent, scopes and departments."""
        ...

    async def agent_by_token(self, token_hash: bytes) -> AgentRecord | None: ...

    async def update_agent(
        self,
        agent_id: int,
        *,
        name: str | None = None,
        role: str | None = None,
        departments: Sequence[str] | None = None,
        max_chats: int | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
        locale: str | None = None,
        kb_editor: bool | None = None,
        bot: bool | None = None,
        privacy: bool | None = None,
    ) -> AgentRecord:
        """Change the given fields; raises NotFoundError for an unknown agent."""
        ...

    # -- two-factor sign-in --

    async def set_two_factor(
        self, agent_id: int, secret: str | None, recovery_hashes: Sequence[bytes], step: int = 0
    ) -> None: ...

    async def accept_totp_step(self, agent_id: int, step: int) -> bool:
        """Take a code's time step if later than the last taken (each code works once)."""
        ...

    async def use_recovery_code(self, agent_id: int, code_hash: bytes, now: float) -> bool: ...

    async def recovery_codes_left(self, agent_id: int) -> int: ...

    async def promote_console_session(
        self, token_hash: bytes, new_hash: bytes, *, from_stages: tuple[str, ...]
    ) -> bool:
        """The sign-in's second step is done: the session becomes full under a new token."""
        ...

    # -- console sessions --

    async def add_console_session(
        self,
        token_hash: bytes,
        agent_id: int,
        csrf: str,
        *,
        now: float,
        expires_at: float,
        ip: str | None,
        user_agent: str | None,
        stage: str = "full",
    ) -> None: ...

    async def console_session(
        self, token_hash: bytes, now: float, *, stages: tuple[str, ...] = ("full",)
    ) -> ConsoleSession | None:
        """The live session (not expired, agent not disabled) with this token and a stage
        among ``stages``."""
        ...

    async def end_console_sessions(
        self, *, token_hash: bytes | None = None, agent_id: int | None = None
    ) -> None:
        """Sign out one session, or every session of an agent."""
        ...

    # -- canned responses --

    async def canned_responses(self) -> list[CannedResponse]: ...

    async def save_canned(
        self, canned_id: int | None, shortcut: str, title: str, text: str, now: float
    ) -> CannedResponse:
        """Add (``canned_id`` None) or change one; ConflictError if the shortcut is taken."""
        ...

    async def delete_canned(self, canned_id: int) -> None: ...

    # -- requests --

    async def search_requests(
        self,
        *,
        number: str | None = None,
        username: str | None = None,
        email: str | None = None,
        text: str | None = None,
        since: float | None = None,
        until: float | None = None,
        before: float | None = None,
        limit: int = 50,
        scope: Scope | None = None,
    ) -> list[RequestSummary]:
        """Requests matching every given filter, newest first; ``before`` pages; ``scope``
        keeps those the access policy lets a principal see."""
        ...

    async def floor_stats(self, since: float) -> FloorStats: ...

    # -- the built-in member directory --

    async def upsert_members(self, members: Sequence[Member]) -> int:
        """Add or replace members (by member id); returns how many."""
        ...

    async def member_by_username(self, username: str) -> Member | None: ...

    # -- attachments --

    async def attachment(self, file_id: str) -> AttachmentRecord | None: ...

    # -- request tracking --

    async def lookup_request(self, number: str, contact: str) -> RequestRecord | None:
        """The request if ``contact`` is the e-mail or username it was opened with."""
        ...

    # -- the webhook outbox --

    async def due_deliveries(self, now: float, limit: int) -> list[Delivery]: ...

    async def delivery_result(
        self, delivery_id: str, *, now: float, error: str | None, retry_at: float | None
    ) -> None:
        """Delivered (no error), to be retried at ``retry_at``, or failed for good."""
        ...

    async def deliveries(self, limit: int) -> list[Delivery]:
        """The newest deliveries, for admins."""
        ...

    async def redeliver(self, delivery_id: str, now: float) -> bool:
        """Queue a delivery again from scratch; False if there is no such delivery."""
        ...

    async def next_delivery_at(self) -> float | None: ...
