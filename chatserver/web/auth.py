"""Console sign-in: session cookies, CSRF tokens, sign-in throttling, security headers.

- The session cookie holds 256 random bits; the store keeps only its SHA-256.
  It is HttpOnly, SameSite=Lax, and Secure whenever the request came over HTTPS.
- Every state-changing request carries a CSRF token: the session's own token for
  signed-in forms and fetches (``csrf`` field or ``X-CSRF-Token`` header), and a
  double-submit cookie for the sign-in form. A foreign ``Origin`` is refused too.
- Sign-in attempts are limited per account and per address (moving windows,
  ``chatserver.throttle``), counted before the password is checked; the limit
  answers 429 with ``Retry-After``, the same way whether or not the account exists.
  Passwords are checked on the ``passwords`` pool, never on the event loop.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from ..exceptions import AuthError, ClientError
from ..hub import Hub
from ..security import new_token, same_secret, token_hash
from ..store import ConsoleSession, Store
from ..throttle import Attempt, FailureThrottle
from .origins import client_address, same_origin

__all__ = [
    "COOKIE",
    "LOGIN_CSRF_COOKIE",
    "SignInThrottle",
    "check_csrf",
    "checked_form",
    "console_session",
    "end_session",
    "require",
    "form_value",
    "login_csrf_token",
    "secure_headers",
    "set_login_csrf",
    "set_session_cookie",
    "start_session",
]

COOKIE = "cs_session"
LOGIN_CSRF_COOKIE = "cs_login_csrf"
SESSION_HOURS = 12
ROLES = ("agent", "supervisor", "admin")

# what console pages may do: only our own scripts, styles and sockets; no framing
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def secure_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def _hub(conn: HTTPConnection) -> Hub:
    hub: Hub = conn.app.state.hub
    return hub


def credential(conn: HTTPConnection, scheme: str) -> str | None:
    """The credential of ``Authorization: <scheme> <credential>`` (the scheme in any case),
    or None if the header is missing, names another scheme or carries nothing."""
    given, _, cred = conn.headers.get("authorization", "").partition(" ")
    cred = cred.strip()
    return cred if given.lower() == scheme and cred else None


async def console_session(conn: HTTPConnection) -> ConsoleSession | None:
    """The signed-in console behind this request or WebSocket, if any."""
    token = conn.cookies.get(COOKIE)
    if not token:
        return None
    store: Store = conn.app.state.store
    return await store.console_session(token_hash(token), time.time())


async def require(request: Request, roles: Collection[str] = ROLES) -> ConsoleSession:
    """The console session, or AuthError (401 signed out, 403 wrong role)."""
    session = await console_session(request)
    if session is None:
        raise AuthError("auth_required", "sign in to the console first")
    if session.agent.role not in roles:
        raise AuthError("forbidden", "your role does not allow this", status=403)
    return session


def check_csrf(request: Request, expected: str, sent: str | None) -> None:
    """Refuse a state-changing request without the right token, or from another site."""
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    if origin is not None and not same_origin(origin, host, request.url.scheme):
        raise AuthError("csrf_failed", "this request came from another site", status=403)
    sent = sent or request.headers.get("x-csrf-token")
    if not sent or not expected or not same_secret(sent, expected):
        raise AuthError(
            "csrf_failed", "the form expired; reload the page and try again", status=403
        )


async def checked_form(request: Request, session: ConsoleSession) -> dict[str, str]:
    """A signed-in console form's text fields, once its CSRF token is checked."""
    form = await request.form()
    check_csrf(request, session.csrf, str(form.get("csrf") or ""))
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _cookie_secure(request: Request) -> bool:
    return request.url.scheme == "https"


STEP_MINUTES = 10  # how long a session may wait at its two-factor step


async def start_session(request: Request, agent_id: int, stage: str = "full") -> tuple[str, float]:
    """A new signed-in session for the agent; returns its cookie value and expiry. A session
    at a two-factor step (``totp``, ``enrol``) lasts ``STEP_MINUTES``."""
    token = new_token("")
    now = time.time()
    expires = now + (SESSION_HOURS * 3600 if stage == "full" else STEP_MINUTES * 60)
    await _hub(request).store.add_console_session(
        token_hash(token),
        agent_id,
        secrets.token_urlsafe(32),
        now=now,
        expires_at=expires,
        ip=client_address(request),
        user_agent=request.headers.get("user-agent", "")[:300] or None,
        stage=stage,
    )
    return token, expires


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_cookie_secure(request),
    )


async def end_session(request: Request, response: Response) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        await _hub(request).store.end_console_sessions(token_hash=token_hash(token))
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")


def login_csrf_token(request: Request) -> str:
    """The sign-in form's double-submit token (reused while its cookie lives)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def set_login_csrf(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/console/login",
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request),
    )


class SignInThrottle:
    """Sign-in attempts per account and per address, counted before the password is
    checked; a right password gives its attempt back and clears the account's count."""

    def __init__(self, per_account: str = "5/15 minutes", per_address: str = "20/15 minutes"):
        self._throttle = FailureThrottle("signin", account=per_account, address=per_address)

    def attempt(self, username: str, address: str) -> Attempt:
        keys = {"account": username.lower(), "address": address}
        return self._throttle.attempt(keys, "too many failed sign-ins")


def form_value(form: object, name: str, *, required: bool = True, max_length: int = 200) -> str:
    """A trimmed text field of a submitted form, or a ClientError naming it."""
    value = form.get(name) if hasattr(form, "get") else None
    if not isinstance(value, str):
        value = ""
    value = value.strip()
    if required and not value:
        raise ClientError("field_required", f"{name.replace('_', ' ')} is required", field=name)
    if len(value) > max_length:
        raise ClientError("field_too_long", f"{name} is too long", field=name)
    return value
