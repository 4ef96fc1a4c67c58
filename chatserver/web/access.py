"""Who is asking, what they may see, and the record that they looked.

Every web surface that shows requests, transcripts or files asks here: ``api_caller`` (an
API token or the console's cookie) or ``session_caller`` (a console page) says who; the
access policy (``privacy.policy``) says what they may see; ``visible_request`` and
``visible_file`` fetch only what is theirs to see (anything else is 404) and leave an audit
entry for each view.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection, Request

from ..core.requests import parse_request_number
from ..exceptions import AuthError, NotFoundError
from ..hub import Hub
from ..privacy.audit import AuditEntry, detail_text
from ..privacy.policy import Principal, Scope, request_scope, see_or_404
from ..security import token_hash
from ..store import AgentRecord, AttachmentRecord, ConsoleSession, RequestRecord
from .auth import check_csrf, console_session, credential
from .origins import client_address

__all__ = [
    "Caller",
    "api_caller",
    "audit",
    "search_scope",
    "session_caller",
    "visible_file",
    "visible_request",
]


@dataclass(frozen=True, slots=True)
class Caller:
    """A principal (for the policy), its agent, and where the request came from."""

    principal: Principal
    agent: AgentRecord
    ip: str | None

    @property
    def actor(self) -> str:
        return self.principal.actor


def _hub(conn: HTTPConnection) -> Hub:
    hub: Hub = conn.app.state.hub
    return hub


def session_caller(request: HTTPConnection, session: ConsoleSession) -> Caller:
    return Caller(Principal.of(session.agent), session.agent, client_address(request))


async def api_caller(request: Request) -> Caller:
    """The caller behind ``Authorization: Bearer <API token>``, or the console's sign-in
    cookie (which must come with its ``X-CSRF-Token`` for anything but reads)."""
    token = credential(request, "bearer")
    if token is not None:
        grant = await _hub(request).store.token_grant(token_hash(token))
        if grant is None:
            raise AuthError("invalid_token", "unknown or revoked API token")
        a = grant.agent
        principal = Principal(
            a.id, a.role, a.departments, a.privacy, grant.id, frozenset(grant.scopes),
            grant.departments,
        )  # fmt: skip
        return Caller(principal, a, client_address(request))
    session = await console_session(request)
    if session is not None:
        if request.method not in ("GET", "HEAD"):
            check_csrf(request, session.csrf, None)
        return session_caller(request, session)
    raise AuthError("auth_required", "send an API token: Authorization: Bearer <token>")


async def audit(
    conn: HTTPConnection,
    actor: str | Caller,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry to the audit trail (committed before the caller goes on)."""
    hub = _hub(conn)
    who = actor.actor if isinstance(actor, Caller) else actor
    entry = AuditEntry(hub.clock(), who, action, target, detail_text(detail), client_address(conn))
    await hub.store.audit_append([entry])


def search_scope(caller: Caller) -> Scope:
    """What a request search may return to this caller."""
    return request_scope(caller.principal)


async def visible_request(
    request: Request,
    caller: Caller,
    raw_number: str,
    *,
    scope: str = "requests:read",
    action: str | None = "request.view",
) -> RequestRecord:
    """The request, if the caller may see it (404 ``request_not_found`` otherwise, as for an
    unknown number); the view is audited as ``action`` (none: the caller audits what it
    then does)."""
    number = parse_request_number(raw_number)
    rec = await _hub(request).store.request(number)
    if rec is None:
        raise NotFoundError("request_not_found", "no request has this number")
    see_or_404(
        caller.principal, rec.chat.department, rec.chat.agent_id,
        scope=scope, code="request_not_found", what="no request has this number",
    )  # fmt: skip
    if action:
        await audit(request, caller, action, number)
    return rec


async def visible_file(request: Request, caller: Caller, file_id: str) -> AttachmentRecord:
    """The attachment, if the caller may read its chat's files; the download is audited."""
    rec = await _hub(request).store.attachment(file_id)
    if rec is None:
        raise NotFoundError("file_not_found", "no such file")
    see_or_404(
        caller.principal, rec.department, rec.chat_agent_id,
        scope="files:read", code="file_not_found", what="no such file",
    )  # fmt: skip
    await audit(request, caller, "file.download", file_id, {"chat": rec.chat_id})
    return rec
