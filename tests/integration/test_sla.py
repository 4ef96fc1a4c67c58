"""Resolution targets (the routing file's [[sla]]) with a short policy set in the test: a
request past its target is marked once, with a history entry, a request.sla_breached webhook
and the count in /metrics; a request waiting for the player does not run out meanwhile."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources
from pathlib import Path

import httpx

from tests.integration.test_console_http import field, sign_in
from tests.integration.test_webhooks import Receiver
from tests.integration.test_webhooks import settings as hook_settings
from tests.support import RunningServer, agent, make_agent, samples, serve_asgi, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
METRICS = "metrics-token-of-the-sla-tests"


async def finished(server: RunningServer, token: str) -> str:
    a, _ = await agent(server, token)
    p, _ = await start_chat(server, name="Mehmet", email="m@example.com")
    chat = (await p.expect("assigned"))["chat"]
    await a.send("end", chat=chat, resolution="needs_follow_up")
    number = str((await p.expect("ended"))["request_number"])
    await a.close()
    await p.close()
    return number


RESOLUTION = '\n[[sla]]\ntopic = "technical"\nresolution = "1s"\n'
RESPONSES = '\n[[sla]]\nfirst_response = "1s"\nnext_response = "1s"\n'


@asynccontextmanager
async def sla_server(
    serve: Serve, tmp_path: Path, tables: str
) -> AsyncIterator[tuple[RunningServer, Receiver]]:
    """A server with the shipped routing file plus ``tables`` (short targets), checking
    them ten times a second, and the webhook receiver it posts to."""
    routing = tmp_path / "routing.toml"
    shipped = resources.files("chatserver").joinpath("routing.toml").read_text("utf-8")
    routing.write_text(shipped + tables)
    hooks = Receiver()
    async with serve_asgi(hooks.app) as base:
        extra = {
            **hook_settings(f"{base}/hook"),
            "routing_file": str(routing),
            "sla_check_seconds": 0.1,
            "metrics_token": METRICS,
        }
        async with serve(**extra) as server:
            yield server, hooks


async def test_a_request_past_its_target_is_marked_once(serve: Serve, tmp_path: Path) -> None:
    async with sla_server(serve, tmp_path, RESOLUTION) as (server, hooks):
        ayse = await make_agent(server, "ayse")
        auth = {"Authorization": f"Bearer {ayse}"}
        waiting = await finished(server, ayse)
        async with httpx.AsyncClient(base_url=server.http, headers=auth) as http:
            r = await http.post(f"/api/requests/{waiting}/status", json={"status": "pending"})
            assert r.status_code == 200
        late = await finished(server, ayse)
        events = []
        while "request.sla_breached" not in events:
            call = await hooks.next()
            events.append(call["json"]["event"])
        assert call["json"]["request"]["number"] == late
        store = server.hub.store
        rec = await store.request(late.replace("-", ""))
        assert rec is not None and rec.sla_breached_at is not None
        assert [e.kind for e in rec.events].count("sla") == 1
        # the one waiting for the player was due first, but its clock stopped
        paused = await store.request(waiting.replace("-", ""))
        assert paused is not None and paused.sla_due is None
        assert paused.sla_breached_at is None
        async with httpx.AsyncClient(base_url=server.http) as http:
            text = (await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS}"})).text
        breached = samples(text)[("chatserver_sla_breaches_total", (("target", "resolution"),))]
        assert breached == 1
        # the inbox lists the late one first, marked
        async with httpx.AsyncClient(base_url=server.http) as http:
            await sign_in(http, "ayse")
            page = (await http.get("/console/inbox")).text
        rows = re.findall(r'<tr>\s*<td><a class="mono"[^>]*>([^<]+)</a>(.*?)</tr>', page, re.S)
        assert [n for n, _ in rows] == [late, waiting]
        assert 'class="tag late"' in rows[0][1] and 'class="tag late"' not in rows[1][1]
        # once: later passes find nothing new
        assert server.hub.desk is not None
        assert await server.hub.desk.check_breaches() == 0


async def test_a_late_first_answer_and_a_late_reply_are_marked(
    serve: Serve, tmp_path: Path
) -> None:
    """First response: the floor tags the chat while its first answer is late, and its end
    marks the request once. Next response: a follow-up nobody answers in time is marked once;
    the reply clears what is owed."""
    async with sla_server(serve, tmp_path, RESPONSES) as (server, hooks):
        ayse = await make_agent(server, "ayse", name="Ayşe")
        boss = await make_agent(server, "boss", role="supervisor")
        sup, _ = await agent(server, boss, status=None)  # watching, not taking chats
        await sup.send("floor", watch=True)
        a, _ = await agent(server, ayse)
        p, _ = await start_chat(server, name="Mehmet", email="m@example.com")
        chat = (await p.expect("assigned"))["chat"]
        while True:  # the floor says so once a second has passed without an answer
            floor = await sup.expect("floor")
            row = next((c for c in floor["live"] if c["chat"] == chat), None)
            if row is not None and row["late"]:
                break
        await a.send("message", chat=chat, id="a1", text="Merhaba")
        await a.send("end", chat=chat, resolution="needs_follow_up")
        number = str((await p.expect("ended"))["request_number"])
        targets = []
        while "first_response" not in targets:
            call = await hooks.next()
            if call["json"]["event"] == "request.sla_breached":
                targets.append(call["json"]["sla"]["target"])
        store = server.hub.store
        rec = await store.request(number.replace("-", ""))
        assert rec is not None
        notes = [e.note or "" for e in rec.events if e.kind == "sla"]
        assert len(notes) == 1 and notes[0].startswith("The first-response target was missed")
        assert rec.reply_due is None  # nothing owed yet

        # the player writes on it; nobody answers within a second
        async with httpx.AsyncClient(base_url=server.http) as http:
            r = await http.post(
                "/api/requests/followup",
                json={"number": number, "contact": "m@example.com", "text": "Cevap?"},
            )
            assert r.status_code == 201
        while "next_response" not in targets:
            call = await hooks.next()
            if call["json"]["event"] == "request.sla_breached":
                assert call["json"]["request"]["number"] == number
                targets.append(call["json"]["sla"]["target"])
        rec = await store.request(number.replace("-", ""))
        assert rec is not None and rec.reply_breached_at is not None
        assert [e.kind for e in rec.events].count("sla") == 2
        async with httpx.AsyncClient(base_url=server.http) as http:
            await sign_in(http, "ayse")
            page = await http.get(f"/console/requests/{number}")
            assert "Reply due" in page.text
            r = await http.post(
                f"/console/requests/{number}/reply",
                data={"csrf": field(page.text, "csrf"), "text": "Baktık."},
            )
            assert r.status_code == 303
            text = (await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS}"})).text
        rec = await store.request(number.replace("-", ""))
        assert rec is not None and rec.reply_due is None
        seen = samples(text)
        for target in ("first_response", "next_response"):
            assert seen[("chatserver_sla_breaches_total", (("target", target),))] == 1
        assert sorted(targets) == ["first_response", "next_response"]
