"""Admin pages: agents (add, disable, departments, capacity, role, password) and canned responses.

Every form carries the session's CSRF token. A refused form is shown again with
the reason next to it; nothing is half-saved.
"""

from __future__ import annotations

import re
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..exceptions import ClientError
from ..hub import Hub
from ..security import hash_password
from ..store import AgentRecord, ConsoleSession
from .access import audit, session_caller
from .auth import checked_form, console_session, form_value
from .pages import render

__all__ = [
    "agents_page",
    "canned_delete",
    "canned_page",
    "canned_save",
    "agent_add",
    "agent_update",
]

MIN_PASSWORD = 8
_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def _admin(request: Request) -> ConsoleSession | Response:
    session = await console_session(request)
    if session is None:
        return RedirectResponse(f"/console/login?next={request.url.path}", status_code=303)
    if session.agent.role != "admin":
        return render(
            request, "error.html", {"me": session, "message": "Only admins can manage this."}, 403
        )
    return session


def _departments(raw: str) -> list[str]:
    deps = sorted({d.strip().lower() for d in raw.split(",") if d.strip()})
    if not deps:
        raise ClientError("field_required", "give at least one department", field="departments")
    for d in deps:
        if d != "*" and not re.fullmatch(r"[a-z0-9_-]{1,32}", d):
            raise ClientError(
                "invalid_department",
                f"{d!r}: use letters, digits, - and _ (or * for all)",
                field="departments",
            )
    return deps


def _max_chats(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 50:
        raise ClientError(
            "invalid_max_chats", "max chats is a number from 1 to 50", field="max_chats"
        )
    return value


def _role(raw: str) -> str:
    if raw not in ("agent", "supervisor", "admin"):
        raise ClientError("invalid_role", "choose agent, supervisor or admin", field="role")
    return raw


# -- agents ----------------------------------------------------------------------------


async def _agents_view(
    request: Request,
    session: ConsoleSession,
    error: ClientError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    agents = await _hub(request).store.list_agents()
    context = {"me": session, "agents": agents, "error": error, "form": form or {}}
    return render(request, "admin_agents.html", context, error.http_status if error else 200)


async def agents_page(request: Request) -> Response:
    session = await _admin(request)
    if isinstance(session, Response):
        return session
    return await _agents_view(request, session)


async def agent_add(request: Request) -> Response:
    session = await _admin(request)
    if isinstance(session, Response):
        return session
    form = await checked_form(request, session)
    try:
        username = form_value(form, "username", max_length=64)
        if not re.fullmatch(r"[A-Za-z0-9._-]{2,64}", username):
            raise ClientError(
                "invalid_username", "a username is 2-64 letters, digits, . _ or -", field="username"
            )
        password = form.get("password", "")
        if len(password) < MIN_PASSWORD:
            raise ClientError(
                "weak_password",
                f"a password needs at least {MIN_PASSWORD} characters",
                field="password",
            )
        hub = _hub(request)
        added = await hub.store.add_agent(
            username=username,
            name=form_value(form, "name", max_length=100),
            password_hash=await hub.pools.passwords.run(hash_password, password),
            role=_role(form.get("role", "agent")),
            departments=_departments(form.get("departments", "*")),
            max_chats=_max_chats(form.get("max_chats", "3")),
            now=time.time(),
        )
    except ClientError as err:
        kept = {k: v for k, v in form.items() if k != "password"}
        return await _agents_view(request, session, err, kept)
    detail = {"role": added.role, "departments": list(added.departments)}
    await audit(
        request, session_caller(request, session), "agent.create", f"agent:{added.id}", detail
    )
    return RedirectResponse("/console/admin/agents", status_code=303)


async def agent_update(request: Request) -> Response:
    session = await _admin(request)
    if isinstance(session, Response):
        return session
    form = await checked_form(request, session)
    agent_id = int(request.path_params["agent_id"])
    hub = _hub(request)
    try:
        password = form.get("password", "")
        if password and len(password) < MIN_PASSWORD:
            raise ClientError(
                "weak_password",
                f"a password needs at least {MIN_PASSWORD} characters",
                field="password",
            )
        disabled = form.get("disabled") == "on"
        if disabled and agent_id == session.agent.id:
            raise ClientError("cannot_disable_self", "you cannot disable your own account")
        before = await hub.store.agent(agent_id)
        record = await hub.store.update_agent(
            agent_id,
            name=form_value(form, "name", max_length=100),
            role=_role(form.get("role", "agent")),
            departments=_departments(form.get("departments", "")),
            max_chats=_max_chats(form.get("max_chats", "")),
            disabled=disabled,
            password_hash=(
                await hub.pools.passwords.run(hash_password, password) if password else None
            ),
            privacy=form.get("privacy") == "on",
        )
        reset = form.get("reset_2fa") == "on" and record.two_factor
        if reset:
            await hub.store.set_two_factor(record.id, None, ())
    except ClientError as err:
        return await _agents_view(request, session, err)
    changes = _changes(before, record, password=bool(password), reset=reset)
    if changes:
        caller = session_caller(request, session)
        await audit(request, caller, "agent.update", f"agent:{record.id}", changes)
    if record.disabled or password or reset:
        # a new password ends every console session of the account (the admin's own too,
        # if they changed their own) and closes its sockets: whoever knew the old one is out
        await hub.store.end_console_sessions(agent_id=record.id)
        hub.sign_out_agent(record.id, "the password was changed: sign in again")
    hub.agent_changed(record)
    return RedirectResponse("/console/admin/agents", status_code=303)


def _changes(
    before: AgentRecord | None, after: AgentRecord, *, password: bool, reset: bool
) -> dict[str, object]:
    """What an update changed, for the audit trail (never the password itself)."""
    out: dict[str, object] = {}
    for name in ("name", "role", "departments", "max_chats", "disabled", "privacy"):
        old, new = getattr(before, name, None), getattr(after, name)
        if old != new:
            out[name] = list(new) if isinstance(new, tuple) else new
    if password:
        out["password"] = "changed"
    if reset:
        out["two_factor"] = "reset"
    return out


# -- canned responses ----------------------------------------------------------------------


async def _canned_view(
    request: Request,
    session: ConsoleSession,
    error: ClientError | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    canned = await _hub(request).store.canned_responses()
    context = {"me": session, "canned": canned, "error": error, "form": form or {}}
    return render(request, "admin_canned.html", context, error.http_status if error else 200)


async def canned_page(request: Request) -> Response:
    session = await _admin(request)
    if isinstance(session, Response):
        return session
    return await _canned_view(request, session)


async def canned_save(request: Request) -> Response:
    session = await _admin(request)
    if isinstance(session, Response):
        return session
    form = await checked_form(request, session)
    raw_id = form.get("id", "")
    try:
        shortcut = form_value(form, "shortcut", max_length=32).lstrip("/").lower()
        if not _SHORTCUT.match(shortcut):
            raise ClientError(
                "invalid_shortcut",
                "a shortcut is up to 32 letters, digits, - or _",
                field="shortcut",
            )
        await _hub(request).store.save_canned(
            int(raw_id) if raw_id.isdigit() else None,
            shortcut,
            form_value(form, "title", max_length=100),
            form_value(form, "text", max_length=4000),
            time.time(),
        )
    except ClientError as err:
        return await _canned_view(request, session, err, form)
    return RedirectResponse("/console/admin/canned", status_code=303)


async def canned_delete(request: Request) -> Response:
    session = await _admin(request)
    if isinstance(session, Response):
        return session
    await checked_form(request, session)
    await _hub(request).store.delete_canned(int(request.path_params["canned_id"]))
    return RedirectResponse("/console/admin/canned", status_code=303)


# -- webhook deliveries --------------------------------------------------------------------


async def webhooks_page(request: Request) -> Response:
    session = await _admin(request)
    if isinstance(session, Response):
        return session
    hub = _hub(request)
    deliveries = await hub.store.deliveries(100)
    context = {"me": session, "deliveries": deliveries, "urls": hub.settings.webhook_urls}
    return render(request, "admin_webhooks.html", context)


async def redeliver(request: Request) -> Response:
    session = await _admin(request)
    if isinstance(session, Response):
        return session
    await checked_form(request, session)
    hub = _hub(request)
    if await hub.store.redeliver(request.path_params["delivery"], time.time()):
        hub.poke_webhooks()
    return RedirectResponse("/console/admin/webhooks", status_code=303)
