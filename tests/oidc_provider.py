"""A small but real OpenID Connect provider for tests: discovery, published keys, the
authorization endpoint (it signs in ``user`` at once, as if they had typed a password) and
the token endpoint, which checks the client's secret, the one-time code, the redirect URI
and the PKCE verifier, then signs an ID token (RS256). Knobs let tests make it misbehave."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "chatserver-console"
CLIENT_SECRET = "s3cret-of-the-console-client"


@dataclass
class Provider:
    user: str = "ayse"
    redirect_uris: set[str] = field(default_factory=set)
    wrong_nonce: bool = False
    foreign_key: bool = False
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_calls: int = 0

    def __post_init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"}, private=True)
        self.other = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )

    @staticmethod
    def issuer(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def discovery(self, request: Request) -> Response:
        base = self.issuer(request)
        return JSONResponse(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID or q.get("redirect_uri") not in self.redirect_uris:
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "challenge": q["code_challenge"],
            "nonce": q.get("nonce"),
            "redirect_uri": q["redirect_uri"],
            "user": self.user,
        }
        target = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(target, status_code=302)

    async def token(self, request: Request) -> Response:
        self.token_calls += 1
        given = request.headers.get("authorization", "")
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if given != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        grant = self.codes.pop(str(form.get("code")), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier") or "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if challenge.decode() != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "why": "pkce"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": self.issuer(request),
            "sub": f"user-{grant['user']}",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": "someone-elses" if self.wrong_nonce else grant["nonce"],
            "preferred_username": grant["user"],
            "email": f"{grant['user']}@example.com",
        }
        key = self.other if self.foreign_key else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
        return JSONResponse({"access_token": "x", "token_type": "Bearer", "id_token": id_token})
