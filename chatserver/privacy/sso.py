"""Single sign-on for the console through OpenID Connect: the authorization-code flow with
PKCE (S256), a ``state`` against forged answers and a ``nonce`` against replayed ID tokens.

The provider is found from ``oidc_issuer`` (its ``/.well-known/openid-configuration``). The
ID token's signature is checked against the provider's published keys (joserfc, from the
authors of Authlib), then its
issuer, audience, expiry and nonce. The claim named by ``oidc_username_claim`` names the
console account: SSO signs in existing accounts, it never makes one.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..exceptions import AuthError, ClientError

__all__ = ["Pending", "SsoClient", "s256"]

_CACHE_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Pending:
    """What the browser keeps (in an HttpOnly cookie) between leaving and coming back."""

    state: str
    nonce: str
    verifier: str
    next: str

    @classmethod
    def new(cls, next_page: str) -> Pending:
        return cls(
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(24),
            secrets.token_urlsafe(48),
            next_page,
        )

    def cookie(self) -> str:
        return " ".join((self.state, self.nonce, self.verifier, self.next))

    @classmethod
    def from_cookie(cls, raw: str) -> Pending | None:
        parts = raw.split(" ")
        return cls(*parts) if len(parts) == 4 and all(parts[:3]) else None


def s256(verifier: str) -> str:
    """PKCE's code challenge (RFC 7636, S256)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _unavailable(message: str) -> ClientError:
    return ClientError("sso_unavailable", message, status=503)


def _fail(message: str) -> AuthError:
    return AuthError("sso_failed", message, status=401)


class SsoClient:
    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        username_claim: str = "preferred_username",
        timeout: float = 10.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.username_claim = username_claim
        self.timeout = timeout
        self._config: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._fetched = 0.0

    async def _get(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                r = await http.get(url)
                r.raise_for_status()
                data = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _unavailable(f"the sign-on provider did not answer: {exc}") from None
        if not isinstance(data, dict):
            raise ClientError(
                "sso_unavailable", "the sign-on provider answered nonsense", status=503
            )
        return data

    async def config(self, *, refresh: bool = False) -> dict[str, Any]:
        if refresh or self._config is None or time.time() - self._fetched > _CACHE_SECONDS:
            config = await self._get(f"{self.issuer}/.well-known/openid-configuration")
            if config.get("issuer", "").rstrip("/") != self.issuer:
                raise ClientError(
                    "sso_unavailable", "the provider names another issuer", status=503
                )
            self._config = config
            self._keys = KeySet.import_key_set(await self._get(config["jwks_uri"]))  # type: ignore[arg-type]
            self._fetched = time.time()
        return self._config

    async def authorize_url(self, pending: Pending) -> str:
        config = await self.config()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid email profile",
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": s256(pending.verifier),
            "code_challenge_method": "S256",
        }
        return f"{config['authorization_endpoint']}?{urlencode(query)}"

    async def finish(self, pending: Pending, state: str, code: str) -> str:
        """The username the provider vouches for, once every check passed."""
        if not state or not secrets.compare_digest(state, pending.state):
            raise _fail("this sign-on answer does not belong to this browser: start again")
        if not code:
            raise _fail("the sign-on provider sent no code")
        config = await self.config()
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                r = await http.post(
                    config["token_endpoint"],
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": self.redirect_uri,
                        "code_verifier": pending.verifier,
                    },
                    auth=(self.client_id, self.client_secret),
                )
                body = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _unavailable(f"the sign-on provider did not answer: {exc}") from None
        if r.status_code != 200 or not isinstance(body, dict) or "id_token" not in body:
            raise _fail("the sign-on provider refused the code")
        claims = await self._claims(str(body["id_token"]), pending.nonce)
        username = claims.get(self.username_claim)
        if not isinstance(username, str) or not username:
            raise _fail(f"the ID token has no {self.username_claim}")
        return username

    async def _claims(self, id_token: str, nonce: str) -> dict[str, Any]:
        await self.config()
        assert self._keys is not None
        try:
            try:
                token = jwt.decode(id_token, self._keys, algorithms=["RS256", "ES256", "PS256"])
            except JoseError:  # the provider may have rotated its keys
                await self.config(refresh=True)
                token = jwt.decode(id_token, self._keys, algorithms=["RS256", "ES256", "PS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise _fail(f"the ID token is not valid: {exc}") from None
        return dict(token.claims)
