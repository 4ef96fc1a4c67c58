"""Console sign-in, sessions, CSRF, throttling and admin pages over real HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
from websockets.exceptions import ConnectionClosed

from tests.support import WS, RunningServer, agent, make_agent, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
PASSWORD = "correct horse battery"


def field(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m, f"no {name} field in page"
    return m.group(1)


async def sign_in(
    http: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    page = await http.get("/console/login")
    return await http.post(
        "/console/login",
        data={"username": username, "password": password, "csrf": field(page.text, "csrf")},
    )


def boot(html: str) -> dict:  # type: ignore[type-arg]
    m = re.search(r'<script type="application/json" id="boot">(.*?)</script>', html, re.S)
    assert m
    return json.loads(m.group(1))  # type: ignore[no-any-return]


async def test_sign_in_sets_a_safe_cookie_and_opens_the_workspace(server: RunningServer) -> None:
    """Sign-in gives an HttpOnly, SameSite=Lax cookie; pages carry a strict CSP."""
    await make_agent(server, "ayse", role="agent")
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.get("/console")
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
        r = await sign_in(http, "ayse")
        assert r.status_code == 303 and r.headers["location"] == "/console"
        cookie = r.headers["set-cookie"]
        assert "cs_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain http here; behind HTTPS it is set
        page = await http.get("/console")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        data = boot(page.text)
        assert data["agent"]["username"] == "ayse" and data["csrf"] and data["resolutions"]


async def test_secure_cookie_behind_https(server: RunningServer) -> None:
    """Behind a TLS proxy (X-Forwarded-Proto from localhost) the cookie is Secure."""
    await make_agent(server, "ayse")
    async with httpx.AsyncClient(
        base_url=server.http, headers={"X-Forwarded-Proto": "https"}
    ) as http:
        page = await http.get("/console/login")
        assert "Secure" in page.headers["set-cookie"]  # the sign-in form's CSRF cookie too
        token = field(page.text, "csrf")
        # httpx keeps Secure cookies for https; the browser would be on https here
        r = await http.post(
            "/console/login",
            data={"username": "ayse", "password": PASSWORD, "csrf": token},
            headers={"Cookie": f"cs_login_csrf={token}"},
        )
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


async def test_wrong_credentials_and_missing_csrf(server: RunningServer) -> None:
    """Wrong passwords, unknown users and forged forms are refused without a session."""
    await make_agent(server, "ayse")
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await sign_in(http, "ayse", "wrong password")
        assert r.status_code == 401 and "Wrong username or password." in r.text
        r = await sign_in(http, "nobody", "whatever")
        assert r.status_code == 401 and "Wrong username or password." in r.text
        r = await http.post("/console/login", data={"username": "ayse", "password": PASSWORD})
        assert r.status_code == 403 and "cs_session" not in r.headers.get("set-cookie", "")
        page = await http.get("/console/login")
        r = await http.post(
            "/console/login",
            data={"username": "ayse", "password": PASSWORD, "csrf": field(page.text, "csrf")},
            headers={"Origin": "https://evil.example"},
        )
        assert r.status_code == 403


async def test_sign_in_throttling_per_account_and_per_address(server: RunningServer) -> None:
    """Five failures lock the account, even for the right password; twenty lock the address."""
    await make_agent(server, "ayse")
    await make_agent(server, "ali")
    async with httpx.AsyncClient(base_url=server.http) as http:
        for _ in range(5):
            assert (await sign_in(http, "ayse", "nope")).status_code == 401
        r = await sign_in(http, "ayse")
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        assert "too many failed sign-ins" in r.text
    # another account from the same address still works (until the address limit)
    async with httpx.AsyncClient(base_url=server.http) as http:
        assert (await sign_in(http, "ali")).status_code == 303
    async with httpx.AsyncClient(base_url=server.http) as http:
        for i in range(15):
            await sign_in(http, f"user{i}", "nope")
        assert (await sign_in(http, "ali")).status_code == 429


async def test_sign_out_needs_the_token_and_ends_the_session(server: RunningServer) -> None:
    """A forged sign-out is refused; a real one makes the cookie worthless."""
    await make_agent(server, "ayse")
    async with httpx.AsyncClient(base_url=server.http) as http:
        await sign_in(http, "ayse")
        token = boot((await http.get("/console")).text)["csrf"]
        assert (await http.post("/console/logout", data={"csrf": "forged"})).status_code == 403
        assert (await http.get("/console")).status_code == 200
        r = await http.post("/console/logout", data={"csrf": token})
        assert r.status_code == 303
        assert (await http.get("/console")).status_code == 303


async def test_the_console_cookie_authenticates_the_agent_socket(server: RunningServer) -> None:
    """The workspace's socket needs no token: the sign-in session is enough."""
    await make_agent(server, "ayse", name="Ayşe")
    async with httpx.AsyncClient(base_url=server.http) as http:
        await sign_in(http, "ayse")
        cookie = http.cookies["cs_session"]
    ws = await WS.open(
        f"{server.ws}/ws/agent",
        origin=server.http,
        additional_headers={"Cookie": f"cs_session={cookie}"},
    )
    await ws.send("hello", v=1, status="online")
    welcome = await ws.expect("welcome")
    assert welcome["agent"]["name"] == "Ayşe"
    # without the cookie (and without a token) the socket gets nothing
    bare = await WS.open(f"{server.ws}/ws/agent")
    await bare.send("hello", v=1)
    await bare.expect_error("auth_required")


async def test_admin_pages(server: RunningServer) -> None:
    """Admins add agents and canned responses; others may not; every form needs the token."""
    await make_agent(server, "boss", role="admin")
    await make_agent(server, "ayse")
    async with (
        httpx.AsyncClient(base_url=server.http) as admin,
        httpx.AsyncClient(base_url=server.http) as agent_http,
    ):
        await sign_in(admin, "boss")
        await sign_in(agent_http, "ayse")
        assert (await agent_http.get("/console/admin/agents")).status_code == 403
        assert (await agent_http.get("/console/floor")).status_code == 403
        csrf = boot((await admin.get("/console")).text)["csrf"]
        new = {
            "username": "veli",
            "name": "Veli",
            "role": "supervisor",
            "departments": "Finance, technical",
            "max_chats": "4",
            "password": "long enough pw",
        }
        assert (await admin.post("/console/admin/agents", data=new)).status_code == 403  # no token
        r = await admin.post("/console/admin/agents", data={**new, "csrf": csrf})
        assert r.status_code == 303
        veli = await server.hub.store.agent_by_username("veli")
        assert veli is not None and veli.departments == ("finance", "technical")
        assert veli.role == "supervisor" and veli.max_chats == 4
        r = await admin.post("/console/admin/agents", data={**new, "csrf": csrf})
        assert r.status_code == 409 and "already exists" in r.text
        r = await admin.post("/console/admin/agents", data={**new, "username": "x y", "csrf": csrf})
        assert r.status_code == 400 and "username" in r.text

        r = await admin.post(
            "/console/admin/canned",
            data={"shortcut": "/Hello", "title": "Greeting", "text": "Merhaba!", "csrf": csrf},
        )
        assert r.status_code == 303
        canned = await server.hub.store.canned_responses()
        assert [(c.shortcut, c.text) for c in canned] == [("hello", "Merhaba!")]
        r = await admin.post(
            "/console/admin/canned",
            data={"shortcut": "hello", "title": "Again", "text": "x", "csrf": csrf},
        )
        assert r.status_code == 409 and "already used" in r.text
        assert boot((await agent_http.get("/console")).text)["canned"][0]["shortcut"] == "hello"
        r = await admin.post(f"/console/admin/canned/{canned[0].id}/delete", data={"csrf": csrf})
        assert r.status_code == 303 and await server.hub.store.canned_responses() == []


async def test_disabling_an_agent_signs_them_out_everywhere(server: RunningServer) -> None:
    """A disabled agent's sessions end, their sockets close and their chats go back to the queue."""
    await make_agent(server, "boss", role="admin")
    token = await make_agent(server, "ayse")
    a, _ = await agent(server, token)
    p, _ = await start_chat(server)
    chat = (await p.expect("assigned"))["chat"]
    async with (
        httpx.AsyncClient(base_url=server.http) as ayse_http,
        httpx.AsyncClient(base_url=server.http) as admin,
    ):
        await sign_in(ayse_http, "ayse")
        await sign_in(admin, "boss")
        csrf = boot((await admin.get("/console")).text)["csrf"]
        ayse = await server.hub.store.agent_by_username("ayse")
        assert ayse is not None
        r = await admin.post(
            f"/console/admin/agents/{ayse.id}",
            data={
                "name": "Ayse",
                "role": "agent",
                "departments": "general",
                "max_chats": "3",
                "disabled": "on",
                "csrf": csrf,
            },
        )
        assert r.status_code == 303
        assert (await ayse_http.get("/console")).status_code == 303
        assert await a.closed() == 1008
        left = await p.expect("message", event="agent_left")
        assert left["from"] == "system"
        assert server.hub.chats[chat].conv.state.value == "queued"
        assert (await sign_in(ayse_http, "ayse")).status_code == 401


async def test_request_search_api_and_exports(server: RunningServer) -> None:
    """Requests are found by number, username or e-mail; transcripts export with notes marked."""
    token = await make_agent(server, "ayse")
    a, _ = await agent(server, token)
    numbers = []
    for name in ("first", "second", "third"):
        p, _ = await start_chat(server, name=name)
        chat = (await p.expect("assigned"))["chat"]
        await a.send("note", chat=chat, id=f"n-{name}", text=f"note about {name}")
        await a.expect("note", id=f"n-{name}")
        await a.send("end", chat=chat, resolution="resolved")
        numbers.append((await a.expect("ended", chat=chat))["request_number"])
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.http) as http:
        body = (await http.get("/api/requests", params={"q": "SECOND"}, headers=auth)).json()
        assert [r["player"]["name"] for r in body["requests"]] == ["second"]
        body = (
            await http.get("/api/requests", params={"q": numbers[0].lower()}, headers=auth)
        ).json()
        assert [r["number"] for r in body["requests"]] == [numbers[0]]
        page1 = (await http.get("/api/requests", params={"limit": 2}, headers=auth)).json()
        assert [r["number"] for r in page1["requests"]] == [numbers[2], numbers[1]]
        page2 = (
            await http.get(
                "/api/requests", params={"limit": 2, "before": page1["next_before"]}, headers=auth
            )
        ).json()
        assert [r["number"] for r in page2["requests"]] == [numbers[0]]
        assert page2["next_before"] is None
        r = await http.get("/api/requests", params={"since": "yesterday"}, headers=auth)
        assert r.status_code == 400 and r.json()["error"]["field"] == "since"
        assert (await http.get("/api/requests")).status_code == 401

        full = (await http.get(f"/api/requests/{numbers[1]}", headers=auth)).json()
        assert full["resolution"] == "resolved"
        notes = [e for e in full["transcript"] if e["internal"]]
        assert [n["text"] for n in notes] == ["note about second"]

        await sign_in(http, "ayse")
        txt = await http.get(f"/console/requests/{numbers[1]}/export.txt")
        assert txt.status_code == 200 and "attachment" in txt.headers["content-disposition"]
        assert "[internal note] Ayse: note about second" in txt.text
        js = (await http.get(f"/console/requests/{numbers[1]}/export.json")).json()
        assert js["number"] == numbers[1] and any(e["internal"] for e in js["transcript"])
        page = await http.get("/console/requests", params={"q": "third"})
        assert numbers[2] in page.text and numbers[0] not in page.text
        assert (await http.get("/console/requests/ABCDE-FGHJK")).status_code == 400


async def test_a_dead_session_cookie_cannot_open_the_agent_socket(server: RunningServer) -> None:
    """A made-up cookie is no sign-in."""
    ws = await WS.open(
        f"{server.ws}/ws/agent",
        origin=server.http,
        additional_headers={"Cookie": "cs_session=nope"},
    )
    await ws.send("hello", v=1)
    await ws.expect_error("auth_required")
    try:
        await ws.send("ping")
        await ws.expect("pong")
    except ConnectionClosed:  # pragma: no cover - the socket must stay usable
        raise AssertionError("socket closed") from None
