"""Two-factor sign-in over real HTTP: setting it up, the code step, codes that work once,
recovery codes, and roles that must use it."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pyotp

from tests.integration.test_console_http import field, sign_in
from tests.support import RunningServer, make_agent

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def enrol(http: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Set up two-factor sign-in from /console/security; returns (secret, recovery codes)."""
    page = await http.get("/console/security")
    assert page.status_code == 200 and "data:image/svg+xml" in page.text
    secret = field(page.text, "secret")
    r = await http.post(
        "/console/security/enrol",
        data={"csrf": field(page.text, "csrf"), "secret": secret, "code": "000000"},
    )
    assert r.status_code == 400 and "not right" in r.text
    code = pyotp.TOTP(secret).now()
    r = await http.post(
        "/console/security/enrol",
        data={"csrf": field(page.text, "csrf"), "secret": secret, "code": code},
    )
    assert r.status_code == 200, r.text
    codes = re.findall(r"<code>([a-z0-9-]{14})</code>", r.text)
    assert len(codes) == 10
    return secret, codes


async def code_step(http: httpx.AsyncClient, code: str) -> httpx.Response:
    page = await http.get("/console/login/code")
    assert page.status_code == 200
    return await http.post(
        "/console/login/code", data={"csrf": field(page.text, "csrf"), "code": code}
    )


async def test_set_up_then_sign_in_with_a_code_once(server: RunningServer) -> None:
    await make_agent(server, "ayse")
    async with httpx.AsyncClient(base_url=server.http) as http:
        assert (await sign_in(http, "ayse")).status_code == 303
        secret, recovery = await enrol(http)
        assert "Recovery codes left: 10" in (await http.get("/console/security")).text
        csrf = field((await http.get("/console/security")).text, "csrf")
        await http.post("/console/logout", data={"csrf": csrf})

    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await sign_in(http, "ayse")
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login/code")
        # half signed in: no page opens
        assert (await http.get("/console")).status_code == 303
        assert (await http.get("/api/requests")).status_code == 401
        r = await code_step(http, "123456")
        assert r.status_code == 401
        # enrolling used this step's code; the next step's is accepted (one step of drift)
        code = pyotp.TOTP(secret).at(time.time() + 30)
        r = await code_step(http, code)
        assert r.status_code == 303 and r.headers["location"] == "/console"
        assert (await http.get("/console")).status_code == 200

    async with httpx.AsyncClient(base_url=server.http) as http:
        await sign_in(http, "ayse")
        r = await code_step(http, code)  # the same code again: refused
        assert r.status_code == 401 and "used already" in r.text
        assert (await code_step(http, recovery[0])).status_code == 303
    async with httpx.AsyncClient(base_url=server.http) as http:
        await sign_in(http, "ayse")
        assert (await code_step(http, recovery[0])).status_code == 401  # once only
        assert (await code_step(http, recovery[1].upper())).status_code == 303
    store = server.hub.store
    rec = await store.agent_by_username("ayse")
    assert rec is not None and await store.recovery_codes_left(rec.id) == 8
    actions = [e.action for e in await store.audit_search(target=f"agent:{rec.id}")]
    assert actions.count("signin.failed") == 3 and "twofactor.enrol" in actions


async def test_a_role_that_must_use_it_sets_it_up_first(serve: Serve) -> None:
    async with serve(two_factor_required=("admin",)) as server:
        await make_agent(server, "root", role="admin")
        await make_agent(server, "ayse")
        async with httpx.AsyncClient(base_url=server.http) as http:
            assert (await sign_in(http, "ayse")).headers["location"] == "/console"
        async with httpx.AsyncClient(base_url=server.http) as http:
            r = await sign_in(http, "root")
            assert r.headers["location"].startswith("/console/security")
            assert (await http.get("/console/admin/agents")).status_code == 303  # not yet
            page = await http.get("/console/security")
            assert "must use two-factor sign-in" in page.text
            await enrol(http)
            assert (await http.get("/console/admin/agents")).status_code == 200


async def test_an_admin_resets_it(server: RunningServer) -> None:
    await make_agent(server, "root", role="admin")
    await make_agent(server, "ayse")
    async with httpx.AsyncClient(base_url=server.http) as http:
        await sign_in(http, "ayse")
        await enrol(http)
    store = server.hub.store
    ayse = await store.agent_by_username("ayse")
    assert ayse is not None and ayse.two_factor
    async with httpx.AsyncClient(base_url=server.http) as http:
        await sign_in(http, "root")
        page = await http.get("/console/admin/agents")
        r = await http.post(
            f"/console/admin/agents/{ayse.id}",
            data={
                "csrf": field(page.text, "csrf"), "name": "Ayşe", "role": "agent",
                "departments": "*", "max_chats": "3", "reset_2fa": "on",
            },
        )  # fmt: skip
        assert r.status_code == 303
    again = await store.agent_by_username("ayse")
    assert again is not None and not again.two_factor
    entries = await store.audit_search(action="agent.update", target=f"agent:{ayse.id}")
    assert entries and '"two_factor":"reset"' in (entries[0].detail or "")
