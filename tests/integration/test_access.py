"""One access policy through every surface: the REST API, the console, transcripts, file
downloads and search; tokens' scopes and departments; every view in the audit trail, whose
chain shows any change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

from chatserver.cli import main as cli
from chatserver.core.requests import format_request_number, request_number_from_bits
from chatserver.privacy.trail import verify
from chatserver.security import new_token, token_hash
from tests.integration.test_console_http import sign_in
from tests.support import RunningServer, agent, make_agent, sql_exec, sql_rows, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def technical_request(server: RunningServer) -> tuple[str, str, str]:
    """A technical chat handled by Ayşe (technical department) with a file; returns
    (Ayşe's token, request number, file id)."""
    token = await make_agent(server, "ayse", departments=("technical",))
    a, _ = await agent(server, token)
    p, welcome = await start_chat(server, name="Mehmet", topic="technical")
    chat = (await p.expect("assigned"))["chat"]
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(
            f"/api/chats/{chat}/files",
            files={"file": ("kimlik.txt", b"identity document", "text/plain")},
            headers={"Authorization": f"Session {welcome['session']}"},
        )
        assert r.status_code == 201, r.text
        file_id = r.json()["file"]["id"]
    await a.send("end", chat=chat, resolution="resolved")
    number = (await p.expect("ended"))["request_number"]
    await a.close()
    return token, number, file_id


async def add_token(server: RunningServer, username: str, **kw: object) -> str:
    rec = await server.hub.store.agent_by_username(username)
    assert rec is not None
    token = new_token("cst_")
    await server.hub.store.add_token(rec.id, token_hash(token), "t", time.time(), **kw)  # type: ignore[arg-type]
    return token


async def test_an_agent_of_another_department_sees_nothing(server: RunningServer) -> None:
    """Finance's agent gets 404, the same as an unknown number, on every surface; the
    technical supervisor and an admin see the request; searches leave it out."""
    ayse, number, file_id = await technical_request(server)
    other = await make_agent(server, "fatma", departments=("finance",))
    boss = await make_agent(server, "selin", role="supervisor", departments=("technical",))
    admin = await make_agent(server, "root", role="admin", departments=("general",))
    unknown = format_request_number(request_number_from_bits(7))

    async def surfaces(token: str) -> list[int]:
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server.http, headers=auth) as http:
            codes = []
            for path in (
                f"/api/requests/{number}",
                f"/api/requests/{number}/transcript",
                f"/api/requests/{number}/files",
                f"/api/files/{file_id}",
            ):
                codes.append((await http.get(path)).status_code)
            r = await http.post(f"/api/requests/{number}/status", json={"status": "pending"})
            codes.append(r.status_code)
            found = (await http.get("/api/requests", params={"q": "Mehmet"})).json()["requests"]
            codes.append(len(found))
            if codes[0] == 404:
                mine = (await http.get(f"/api/requests/{number}")).json()
                theirs = (await http.get(f"/api/requests/{unknown}")).json()
                assert mine == theirs  # nothing tells a hidden request from a missing one
            return codes

    assert await surfaces(other) == [404, 404, 404, 404, 404, 0]
    assert await surfaces(ayse) == [200, 200, 200, 200, 200, 1]  # she handled it
    assert await surfaces(boss) == [200, 200, 200, 200, 409, 1]  # (already pending)
    assert (await surfaces(admin))[:4] == [200, 200, 200, 200]

    # the console asks the same policy
    async with httpx.AsyncClient(base_url=server.http) as http:
        assert (await sign_in(http, "fatma")).status_code == 303
        assert (await http.get(f"/console/requests/{number}")).status_code == 404
        assert (await http.get(f"/console/requests/{number}/export.json")).status_code == 404
        assert (await http.get(f"/api/files/{file_id}")).status_code == 404
        page = await http.get("/console/requests", params={"q": "Mehmet"})
        assert page.status_code == 200 and format_request_number(number) not in page.text
    async with httpx.AsyncClient(base_url=server.http) as http:
        await sign_in(http, "selin")
        page = await http.get(f"/console/requests/{number}")
        assert page.status_code == 200 and "Mehmet" in page.text

    # every successful view, export and download is in the trail; refusals are not views
    store = server.hub.store
    canonical = number.replace("-", "")
    views = await store.audit_search(action="request.view", target=canonical)
    actors = sorted(e.actor for e in views)
    assert len([a for a in actors if a.startswith("token:")]) == 6  # 2 views x 3 tokens
    assert any(a.startswith("agent:") for a in actors)  # the supervisor's console page
    downloads = await store.audit_search(action="file.download", target=file_id)
    assert len(downloads) == 3 and all(e.ip == "127.0.0.1" for e in downloads)
    exports = await store.audit_search(action="transcript.export", target=canonical)
    assert len(exports) == 3
    assert len(await store.audit_search(action="signin")) == 2
    checked, breaks = await verify(store)
    assert checked > 10 and breaks == []


async def test_token_scopes_and_departments(server: RunningServer) -> None:
    """A read-only token cannot change a status or read files; a token limited to finance
    sees no technical request, even an admin's."""
    _, number, file_id = await technical_request(server)
    await make_agent(server, "root", role="admin")
    read_only = await add_token(server, "root", scopes=("requests:read",))
    finance = await add_token(server, "root", departments=("finance",))
    async with httpx.AsyncClient(base_url=server.http) as http:
        auth = {"Authorization": f"Bearer {read_only}"}
        assert (await http.get(f"/api/requests/{number}", headers=auth)).status_code == 200
        r = await http.post(
            f"/api/requests/{number}/status", json={"status": "pending"}, headers=auth
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient_scope"
        r = await http.get(f"/api/files/{file_id}", headers=auth)
        assert r.status_code == 403 and r.json()["error"]["scope"] == "files:read"
        auth = {"Authorization": f"Bearer {finance}"}
        assert (await http.get(f"/api/requests/{number}", headers=auth)).status_code == 404
        assert (await http.get(f"/api/files/{file_id}", headers=auth)).status_code == 404
        r = await http.get("/api/requests", params={"q": "Mehmet"}, headers=auth)
        assert r.json()["requests"] == []


async def test_tampering_with_the_trail_is_found(serve: Serve) -> None:
    """Changing one entry, or removing the last, breaks the chain; `audit verify` says so."""
    async with serve() as server:
        _, number, _ = await technical_request(server)
        admin = await make_agent(server, "root", role="admin")
        async with httpx.AsyncClient(base_url=server.http) as http:
            auth = {"Authorization": f"Bearer {admin}"}
            for _ in range(3):
                assert (await http.get(f"/api/requests/{number}", headers=auth)).status_code == 200
        store = server.hub.store
        checked, breaks = await verify(store)
        assert (checked, breaks) == (3, [])
        settings = server.settings
        actor = (await sql_rows(settings, "SELECT actor FROM audit_log WHERE seq = 2"))[0][0]
        await sql_exec(settings, "UPDATE audit_log SET actor = 'agent:99' WHERE seq = 2")
        checked, breaks = await verify(store)
        assert [b.seq for b in breaks] == [2] and "changed" in breaks[0].reason
        if not settings.database_url:
            args = ["audit", "verify", "--db", settings.db]
            assert await asyncio.to_thread(cli, args) == 2
        await sql_exec(settings, f"UPDATE audit_log SET actor = '{actor}' WHERE seq = 2")
        assert await verify(store) == (3, [])
        if not settings.database_url:
            assert await asyncio.to_thread(cli, args) == 0
        # removing the last entry is seen too: the chain's head names it
        await sql_exec(settings, "DELETE FROM audit_log WHERE seq = 3")
        checked, breaks = await verify(store)
        assert checked == 2 and [b.seq for b in breaks] == [3]
        # rewriting an entry's hash to match its change moves the break to the next entry
        # (its first hex digit changed: 'f', or 'e' if it was 'f', a 1 in 16 chance)
        await sql_exec(
            settings,
            "UPDATE audit_log SET hash = CASE WHEN substr(hash, 1, 1) = 'f' THEN 'e' ELSE 'f' END"
            " || substr(hash, 2) WHERE seq = 1",
        )
        checked, breaks = await verify(store)
        assert [b.seq for b in breaks][:2] == [1, 2]
