"""``/console/sso``: single sign-on through OpenID Connect (``privacy.sso``).

The browser leaves for the provider with a ``state``, a ``nonce`` and a PKCE challenge; what
it must bring back stays in an HttpOnly cookie for ten minutes. Coming back, the code is
exchanged, the ID token checked, and the account it names signs in as with a password
(two-factor sign-in still applies). Failures are audited and shown on the sign-in page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..exceptions import ClientError
from ..privacy.sso import Pending, SsoClient
from .access import audit
from .console import first_step_done, safe_next
from .pages import render

__all__ = ["callback", "start"]

COOKIE = "cs_sso"
_PATH = "/console/sso"


def client(request: Request) -> SsoClient | None:
    """The app's SSO client, made on first use (None when SSO is off)."""
    settings = request.app.state.settings
    if not settings.oidc_issuer:
        return None
    sso: SsoClient | None = getattr(request.app.state, "sso", None)
    if sso is None:
        sso = SsoClient(
            settings.oidc_issuer,
            settings.oidc_client_id,
            settings.oidc_client_secret,
            f"{settings.base_url}{_PATH}/callback",
            username_claim=settings.oidc_username_claim,
        )
        request.app.state.sso = sso
    return sso


def _error(request: Request, message: str, status: int) -> Response:
    return render(request, "error.html", {"message": message, "login": True}, status)


async def start(request: Request) -> Response:
    """GET /console/sso: off to the provider."""
    sso = client(request)
    if sso is None:
        return _error(request, "Single sign-on is not set up on this server.", 404)
    pending = Pending.new(safe_next(request, request.query_params.get("next")))
    try:
        url = await sso.authorize_url(pending)
    except ClientError as err:
        return _error(request, err.message, err.http_status)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        COOKIE,
        pending.cookie(),
        max_age=600,
        path=_PATH,
        httponly=True,
        samesite="lax",  # it must come back on the provider's top-level redirect
        secure=request.url.scheme == "https",
    )
    return response


async def callback(request: Request) -> Response:
    """GET /console/sso/callback?code=&state=: back from the provider."""
    sso = client(request)
    pending = Pending.from_cookie(request.cookies.get(COOKIE, ""))
    if sso is None or pending is None:
        return _error(request, "This sign-on expired. Start again.", 400)
    params = request.query_params
    if params.get("error"):
        return _error(request, "The sign-on provider did not let you in.", 401)
    try:
        username = await sso.finish(pending, params.get("state", ""), params.get("code", ""))
    except ClientError as err:
        await audit(request, "anonymous", "signin.failed", None, {"step": "sso"})
        return _error(request, err.message, err.http_status)
    agent = await request.app.state.hub.store.agent_by_username(username)
    if agent is None or agent.disabled:
        await audit(request, "anonymous", "signin.failed", None, {"step": "sso", "known": False})
        return _error(request, "There is no console account for you. Ask an admin.", 403)
    response = await first_step_done(request, agent, pending.next, how="sso")
    response.delete_cookie(COOKIE, path=_PATH, httponly=True, samesite="lax")
    return response
