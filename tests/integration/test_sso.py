"""Single sign-on against a real local OpenID Connect provider: the whole authorization-code
flow with PKCE, and each way it must refuse."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx

from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.support import RunningServer, make_agent, serve_asgi

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


@asynccontextmanager
async def with_provider(
    serve: Serve, **knobs: object
) -> AsyncIterator[tuple[RunningServer, Provider]]:
    provider = Provider(**knobs)  # type: ignore[arg-type]
    async with serve_asgi(provider.app) as issuer:
        settings = {
            "oidc_issuer": issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
        }
        async with serve(**settings) as server:
            provider.redirect_uris.add(f"{server.settings.base_url}/console/sso/callback")
            yield server, provider


async def sso(http: httpx.AsyncClient, server: RunningServer) -> httpx.Response:
    """Follow the redirects by hand: console -> provider -> console."""
    r = await http.get(f"{server.http}/console/sso", params={"next": "/console/requests"})
    assert r.status_code == 303, r.text
    at_provider = await http.get(r.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    return await http.get(at_provider.headers["location"])


async def test_signing_in_through_the_provider(serve: Serve) -> None:
    async with with_provider(serve) as (server, provider):
        await make_agent(server, "ayse")
        async with httpx.AsyncClient() as http:
            login = await http.get(f"{server.http}/console/login")
            assert 'id="sso"' in login.text
            r = await sso(http, server)
            assert r.status_code == 303 and r.headers["location"] == "/console/requests"
            assert (await http.get(f"{server.http}/console/requests")).status_code == 200
        signins = await server.hub.store.audit_search(action="signin")
        assert signins and '"by":"sso"' in (signins[0].detail or "")
        # the code was spent: replaying the callback does nothing
        assert provider.codes == {}


async def test_what_sso_refuses(serve: Serve) -> None:
    async with with_provider(serve, user="nobody") as (server, provider):
        await make_agent(server, "ayse")
        async with httpx.AsyncClient() as http:
            r = await sso(http, server)  # no such account: SSO never makes one
            assert r.status_code == 403 and "no console account" in r.text
        async with httpx.AsyncClient() as http:
            r = await http.get(f"{server.http}/console/sso")
            at_provider = await http.get(r.headers["location"])
            forged = at_provider.headers["location"].replace("state=", "state=x")
            r = await http.get(forged)  # another browser's answer
            assert r.status_code == 401 and "does not belong" in r.text
        async with httpx.AsyncClient() as http:  # no cookie at all
            r = await http.get(f"{server.http}/console/sso/callback?code=a&state=b")
            assert r.status_code == 400
        provider.user = "ayse"
        provider.wrong_nonce = True
        async with httpx.AsyncClient() as http:
            r = await sso(http, server)
            assert r.status_code == 401 and "nonce" in r.text
        provider.wrong_nonce, provider.foreign_key = False, True
        async with httpx.AsyncClient() as http:
            r = await sso(http, server)
            assert r.status_code == 401 and "not valid" in r.text
        provider.foreign_key = False
        async with httpx.AsyncClient() as http:
            r = await sso(http, server)
            assert r.status_code == 303  # and, put right, it works
        failed = await server.hub.store.audit_search(action="signin.failed")
        assert len(failed) == 4


async def test_two_factor_still_applies(serve: Serve) -> None:
    async with with_provider(serve) as (server, _):
        await make_agent(server, "ayse")
        rec = await server.hub.store.agent_by_username("ayse")
        assert rec is not None
        await server.hub.store.set_two_factor(rec.id, "A" * 32, ())
        async with httpx.AsyncClient() as http:
            r = await sso(http, server)
            assert r.headers["location"].startswith("/console/login/code")
