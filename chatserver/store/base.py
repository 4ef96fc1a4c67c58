"""The Store interface; its records and the write operations it applies are in
``store.records`` and re-exported here.

Writes that belong to live chats are *operations* (plain data) that the hub's
writer hands to ``Store.apply`` in batches: one transaction per batch (group
commit). Everything in a batch commits or nothing does. Administrative writes
(agents, tokens) are ordinary methods with their own transaction.

Implementations translate driver errors into ``StoreError`` at this boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..core.conversation import Conversation, Message
from ..core.identity import Member
from ..core.lifecycle import Event
from ..privacy.policy import Scope
from .kb import KbStore
from .privacy import PrivacyStore
from .qa import QaStore
from .records import (
    AddAttachment,
    AgentRecord,
    AppendMessage,
    AppendNote,
    AttachmentRecord,
    CannedResponse,
    ChatRecord,
    ConsoleSession,
    CreateChat,
    CreateRequest,
    CreateSession,
    Delivery,
    EnqueueWebhooks,
    FloorStats,
    FollowUp,
    Op,
    RateRequest,
    RecordRefusal,
    RequestEvent,
    RequestRecord,
    RequestSummary,
    SaveChat,
    SessionRecord,
    TokenGrant,
)
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


class LifecycleStore(Protocol):
    async def transition(
        self,
        number: str,
        event: Event,
        *,
        confirm_close: bool | Callable[[str], bool],
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

    async def sla_overdue(
        self, now: float, limit: int, target: str = "resolution"
    ) -> list[str]: ...

    async def mark_breached(
        self,
        number: str,
        now: float,
        rows: list[tuple[str, list[tuple[object, ...]]]],
        target: str = "resolution",
    ) -> bool:
        """Mark a request's missed ``target`` once, with its history and ``rows``."""
        ...

    async def record(self, rows: list[tuple[str, list[tuple[object, ...]]]]) -> None:
        """Write ``rows`` (history, webhooks) in one transaction."""
        ...

    async def requests_of_member(self, member_id: str, limit: int) -> list[dict[str, Any]]:
        """A member's requests, newest first: number, status, topic and times."""
        ...

    async def owed_counts(self, now: float, soon: float) -> tuple[int, int]:
        """(past a target, due before ``soon``) of the requests the team owes."""
        ...

    async def request_by_answer_token(self, token_hash: bytes) -> str | None: ...
    async def request_by_link(self, token_hash: bytes, now: float) -> str | None: ...

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
