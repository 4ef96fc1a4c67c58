"""The one access policy: may this principal see or change this request, read its files, or
act on personal data? Every surface (console pages, the REST API, exports, file downloads,
search) asks here, and nowhere else decides.

- Admins see every request.
- Supervisors and agents see their departments' requests and those they handled; an
  account of every department (``*``, the default of ``agent add``) sees all of them.
- An API token acts for its agent, within its scopes (``requests:read``, ``requests:write``,
  ``files:read``, ``admin``), and, when it is limited to departments, only within those.
- What a principal may not see does not exist for them: the surfaces answer 404, as for an
  unknown number, so a request number reveals nothing.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..core.routing import ALL_DEPARTMENTS
from ..exceptions import AuthError, NotFoundError

__all__ = [
    "SCOPES",
    "Principal",
    "Scope",
    "check_scopes",
    "may_manage_privacy",
    "may_see",
    "need",
    "request_scope",
    "see_or_404",
]

SCOPES = ("requests:read", "requests:write", "files:read", "admin")
DEFAULT_SCOPES = ("requests:read", "requests:write", "files:read")


class AgentLike(Protocol):
    """What the policy reads of an account (store.AgentRecord)."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def departments(self) -> Sequence[str]: ...
    @property
    def privacy(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: a signed-in console account, or an API token acting for one."""

    agent_id: int
    role: str  # agent | supervisor | admin
    departments: tuple[str, ...] = ()
    privacy: bool = False  # the account may answer data-subject requests
    token_id: int | None = None
    scopes: frozenset[str] | None = None  # a token's scopes; None for a console sign-in
    token_departments: tuple[str, ...] = ()  # a token limited to these ('' none: no limit)

    @classmethod
    def of(cls, agent: AgentLike) -> Principal:
        """A console sign-in (or an agent's socket): the account's own role and departments."""
        return cls(agent.id, agent.role, tuple(agent.departments), agent.privacy)

    @property
    def actor(self) -> str:
        """How the audit trail names them."""
        if self.token_id is not None:
            return f"token:{self.token_id}"
        return f"agent:{self.agent_id}"

    def has(self, scope: str) -> bool:
        """Does this principal hold ``scope``? A console sign-in holds every scope but
        ``admin``, which is its role's."""
        if self.scopes is None:
            return scope != "admin" or self.role == "admin"
        return scope in self.scopes and (scope != "admin" or self.role == "admin")


@dataclass(frozen=True, slots=True)
class Scope:
    """Which requests a principal sees: those of ``departments`` (None: every department) and
    those whose chat ``agent_id`` handled (None: none by that rule)."""

    departments: frozenset[str] | None
    agent_id: int | None

    @property
    def everything(self) -> bool:
        return self.departments is None

    def covers(self, department: str, agent_id: int | None) -> bool:
        if self.departments is None or department in self.departments:
            return True
        return self.agent_id is not None and agent_id == self.agent_id


def request_scope(p: Principal) -> Scope:
    """The requests ``p`` may see (the store filters searches by it)."""
    limited = frozenset(p.token_departments) if p.token_departments else None
    every = p.role == "admin" or ALL_DEPARTMENTS in p.departments
    if limited is not None:  # a limited token sees its departments, and no more
        return Scope(limited if every else frozenset(p.departments) & limited, None)
    if every:
        return Scope(None, None)
    return Scope(frozenset(p.departments), p.agent_id)


def need(p: Principal, scope: str) -> None:
    """Refuse (403 ``insufficient_scope``) unless ``p`` holds ``scope``."""
    if not p.has(scope):
        raise AuthError(
            "insufficient_scope", f"this needs the {scope} scope", status=403, scope=scope
        )


def may_see(p: Principal, department: str, agent_id: int | None, *, scope: str) -> bool:
    """May ``p`` see a request (``scope`` requests:read, requests:write) or its files
    (files:read), given its chat's department and the agent who handled it?"""
    return p.has(scope) and request_scope(p).covers(department, agent_id)


def see_or_404(
    p: Principal, department: str, agent_id: int | None, *, scope: str, code: str, what: str
) -> None:
    """``may_see`` or NotFoundError: outside one's scope, a request or file does not exist
    (a missing scope of a token still says so, with 403)."""
    need(p, scope)
    if not request_scope(p).covers(department, agent_id):
        raise NotFoundError(code, what)


def may_manage_privacy(p: Principal) -> bool:
    """Data-subject search, export, erasure and retention: admins and privacy officers, and
    a token only with the ``admin`` scope."""
    if p.scopes is not None and not p.has("admin"):
        return False
    return p.role == "admin" or p.privacy


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Scopes as given to a new token, checked; ValueError names an unknown one."""
    out = []
    for s in scopes:
        if s not in SCOPES:
            raise ValueError(f"unknown scope {s!r}: choose from {', '.join(SCOPES)}")
        if s not in out:
            out.append(s)
    if not out:
        raise ValueError("a token needs at least one scope")
    return tuple(out)
