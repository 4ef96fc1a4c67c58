"""Two-factor sign-in in the console: the code step after the password, and setting it up.

- An account with two-factor sign-in set up gets, after its password, a session at the
  ``totp`` step: it opens nothing but ``/console/login/code``, for ten minutes. A right code
  (or an unused recovery code) makes it a full session under a new cookie. Each code works
  once; wrong codes count against the same per-account and per-address limits as passwords.
- Where ``two_factor_required`` names the account's role and it has not set it up, the
  session waits at the ``enrol`` step on ``/console/security`` until it has.
- ``/console/security`` shows a new secret as a QR code (drawn here, nothing leaves the
  page); the first right code turns it on and shows ten recovery codes, once.
"""

from __future__ import annotations

import re
import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..exceptions import ClientError
from ..hub import Hub
from ..privacy import twofactor
from ..security import new_token, token_hash
from ..store import ConsoleSession
from .access import audit
from .auth import COOKIE, SignInThrottle, check_csrf, set_session_cookie
from .console import safe_next, to_login
from .origins import client_address
from .pages import render

__all__ = ["code_page", "code_submit", "enrol", "security_page"]

_SECRET = re.compile(r"[A-Z2-7]{32}")


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def _session(request: Request, stages: tuple[str, ...]) -> ConsoleSession | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    return await _hub(request).store.console_session(token_hash(token), time.time(), stages=stages)


async def _promote(request: Request, response: Response, stages: tuple[str, ...]) -> bool:
    """The session becomes a full one under a new cookie."""
    new = new_token("")
    done = await _hub(request).store.promote_console_session(
        token_hash(request.cookies.get(COOKIE, "")), token_hash(new), from_stages=stages
    )
    if done:
        set_session_cookie(request, response, new)
    return done


def _code_form(
    request: Request, session: ConsoleSession, error: str | None = None, status: int = 200
) -> Response:
    context = {
        "csrf": session.csrf,
        "error": error,
        "next": safe_next(request, _next_param(request)),
    }
    return render(request, "login_code.html", context, status)


def _next_param(request: Request) -> str | None:
    return request.query_params.get("next")


async def code_page(request: Request) -> Response:
    """GET /console/login/code: the second step."""
    session = await _session(request, ("totp",))
    if session is None:
        return to_login(request)
    return _code_form(request, session)


async def code_submit(request: Request) -> Response:
    """POST /console/login/code: a TOTP code or a recovery code."""
    session = await _session(request, ("totp",))
    if session is None:
        return RedirectResponse("/console/login", status_code=303)
    form = await request.form()
    check_csrf(request, session.csrf, str(form.get("csrf") or ""))
    agent = session.agent
    throttle: SignInThrottle = request.app.state.signin_throttle
    try:
        attempt = throttle.attempt(agent.username, client_address(request))
    except ClientError as err:
        response = _code_form(request, session, err.message, 429)
        response.headers["Retry-After"] = str(err.extra.get("retry_after", 60))
        return response
    store = _hub(request).store
    code = str(form.get("code") or "").strip()[:40]
    now = time.time()
    step = (
        twofactor.matching_step(agent.totp_secret or "", code, now) if agent.totp_secret else None
    )
    ok = step is not None and await store.accept_totp_step(agent.id, step)
    how = "code"
    if not ok and len(code) > 6:
        ok = await store.use_recovery_code(agent.id, twofactor.recovery_hash(code), now)
        how = "recovery code"
    target = f"agent:{agent.id}"
    if not ok:
        await audit(request, "anonymous", "signin.failed", target, {"step": "code"})
        return _code_form(request, session, "That code is not right, or was used already.", 401)
    attempt.give_back(clear=("account",))
    response = RedirectResponse(safe_next(request, str(form.get("next") or "")), status_code=303)
    if not await _promote(request, response, ("totp",)):
        return RedirectResponse("/console/login", status_code=303)
    await audit(request, target, "signin", target, {"two_factor": how})
    return response


async def security_page(request: Request) -> Response:
    """GET /console/security: this account's two-factor sign-in (set it up here)."""
    session = await _session(request, ("full", "enrol"))
    if session is None:
        return to_login(request)
    return await _security_view(request, session)


async def _security_view(
    request: Request,
    session: ConsoleSession,
    *,
    error: str | None = None,
    secret: str | None = None,
    status: int = 200,
) -> Response:
    agent = session.agent
    context: dict[str, object] = {
        "me": session if session.stage == "full" else None,
        "csrf": session.csrf,
        "stage": session.stage,
        "error": error,
        "next": safe_next(request, _next_param(request)),
        "enabled": agent.two_factor,
    }
    if agent.two_factor:
        context["left"] = await _hub(request).store.recovery_codes_left(agent.id)
    else:
        secret = secret or twofactor.new_secret()
        uri = twofactor.provisioning_uri(secret, agent.username, _issuer(request))
        # drawing the QR code takes milliseconds of CPU: on a pool, never on the event loop
        qr = await _hub(request).pools.images.run(twofactor.qr_data_uri, uri)
        context.update(secret=secret, qr=qr)
    return render(request, "security.html", context, status)


def _issuer(request: Request) -> str:
    return f"chatserver ({request.url.hostname or 'console'})"


async def enrol(request: Request) -> Response:
    """POST /console/security/enrol: the secret shown and its first code turn it on."""
    session = await _session(request, ("full", "enrol"))
    if session is None:
        return to_login(request)
    form = await request.form()
    check_csrf(request, session.csrf, str(form.get("csrf") or ""))
    if session.agent.two_factor:
        return RedirectResponse("/console/security", status_code=303)
    secret = str(form.get("secret") or "")
    if not _SECRET.fullmatch(secret):
        return await _security_view(request, session, error="Start again.", status=400)
    now = time.time()
    step = twofactor.matching_step(secret, str(form.get("code") or ""), now)
    if step is None:
        message = "That code is not right: check the time on your phone and try again."
        return await _security_view(request, session, error=message, secret=secret, status=400)
    codes = twofactor.new_recovery_codes()
    store = _hub(request).store
    await store.set_two_factor(
        session.agent.id, secret, [twofactor.recovery_hash(c) for c in codes], step
    )
    target = f"agent:{session.agent.id}"
    await audit(request, target, "twofactor.enrol", target)
    next_page = safe_next(request, str(form.get("next") or ""))
    response = render(
        request,
        "security_codes.html",
        {"me": session if session.stage == "full" else None, "codes": codes, "next": next_page},
    )
    if session.stage == "enrol":
        await _promote(request, response, ("enrol",))
        await audit(request, target, "signin", target, {"two_factor": "enrolled"})
    return response
