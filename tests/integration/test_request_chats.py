"""A request spans chats: days later the player writes on it from the widget with its number
and their contact; with its agent free, that opens a live chat on the same request, given to
that agent before a longer-idle colleague; the chat ends with the same number, and the
request's transcript holds both chats in order. With nobody free, the words are kept on the
request for the team. A wrong contact is answered like an unknown number."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from chatserver.core.requests import format_request_number, request_number_from_bits
from chatserver.transcripts import entries
from tests.integration.test_console_http import field, sign_in
from tests.integration.test_files import png
from tests.integration.test_routing_identity import SECRET, identity, member_chat
from tests.integration.test_webhooks import Receiver
from tests.integration.test_webhooks import settings as hook_settings
from tests.support import RunningServer, agent, make_agent, player, serve_asgi, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def _hook(hooks: Receiver, event: str, **request: Any) -> dict[str, Any]:
    """The next delivery of ``event`` whose request has these fields."""
    while True:
        body: dict[str, Any] = (await hooks.next())["json"]
        got = body.get("request", {})
        if body["event"] == event and all(got.get(k) == v for k, v in request.items()):
            return body


async def test_a_later_chat_on_the_same_request(serve: Serve) -> None:
    hooks = Receiver()
    async with serve_asgi(hooks.app) as base, serve(**hook_settings(f"{base}/hook")) as server:
        ayse_token = await make_agent(server, "ayse", name="Ayşe")
        bora_token = await make_agent(server, "bora", name="Bora")
        ayse, _ = await agent(server, ayse_token)
        p, _ = await start_chat(server, name="Mehmet", email="mehmet@example.com")
        chat = (await p.expect("assigned"))["chat"]
        assert (await ayse.expect("assigned"))["chat"] == chat
        # Bora comes online while Ayşe chats: once she is done, he has been idle longer
        bora, _ = await agent(server, bora_token)
        await p.send("message", id="m1", text="Çekimim gelmedi")
        await ayse.send("end", chat=chat, resolution="resolved")
        number = (await p.expect("ended"))["request_number"]
        await p.close()

        # another day, a new widget session: a wrong contact is an unknown number
        q, _ = await player(server)
        unknown = format_request_number(request_number_from_bits(9))
        await q.send("follow_up", id="f0", number=number, contact="x@y.z", text="hi")
        wrong = await q.expect_error("request_not_found")
        await q.send("follow_up", id="f0", number=unknown, contact="mehmet", text="hi")
        assert {**(await q.expect_error("request_not_found")), "id": None} == {
            **wrong,
            "id": None,
        }

        # the right pair while Ayşe is free: a live chat on the same request, to her
        await q.send(
            "follow_up", id="f1", number=number, contact="MEHMET@example.com", text="Hâlâ yok"
        )
        following = await q.expect("following")
        assert following["live"] is True and following["request_number"] == number
        got = await ayse.expect("assigned")
        assert got["chat"] == following["chat"] != chat
        assert got["continues"] == number
        assert [m["text"] for m in got["history"] if m["from"] == "player"] == ["Hâlâ yok"]
        assert await _hook(hooks, "request.updated", number=number)
        await ayse.send("message", chat=got["chat"], id="a1", text="Bakıyorum")
        await q.expect("message", text="Bakıyorum")
        await ayse.send("end", chat=got["chat"], resolution="resolved")
        assert (await q.expect("ended"))["request_number"] == number
        resolved = await _hook(hooks, "request.updated", number=number, status="resolved")
        assert resolved["changed_by"] == "Ayşe"
        assert "assigned" not in [f["type"] for f in await bora.barrier()]

        rec = await server.hub.store.request(number.replace("-", ""))
        assert rec is not None and rec.status == "resolved"
        assert [c.id for c in rec.chats] == [chat, following["chat"]]
        said = [e["text"] for e in entries(rec, internal=False) if e["from"] != "system"]
        assert said == ["Çekimim gelmedi", "Hâlâ yok", "Bakıyorum"]
        assert any("live chat" in (e.note or "") for e in rec.events)

        # nobody free: kept on the request for the team, which owes an answer again
        await ayse.send("status", status="away")
        await bora.send("status", status="away")
        await ayse.barrier()
        await bora.barrier()
        await q.send(
            "follow_up", id="f2", number=number, contact="mehmet@example.com", text="Cevap?"
        )
        kept = await q.expect("following")
        assert kept["live"] is False and kept["status"] == "open" and "chat" not in kept
        view = await q.expect("request")  # the request as it is now, for the widget
        assert view["number"] == number and view["status"] == "open"
        assert [m["text"] for m in view["messages"]] == ["Cevap?"]
        said = [m["text"] for m in view["transcript"] if m["from"] != "system"]
        assert said == ["Çekimim gelmedi", "Hâlâ yok", "Bakıyorum"]
        await q.send(
            "follow_up", id="f2", number=number, contact="mehmet@example.com", text="Cevap?"
        )
        assert await q.expect("following") == kept  # a resend: taken once
        rec = await server.hub.store.request(number.replace("-", ""))
        assert rec is not None and [f.text for f in rec.followups] == ["Cevap?"]
        await q.send("look_up", number=number, contact="x@y.z")
        await q.expect_error("request_not_found")
        await q.send("look_up", number=number, contact="mehmet@example.com")
        assert (await q.expect("request"))["messages"] == view["messages"]
        # the team answers on the request: the player looking at it hears so at once
        async with httpx.AsyncClient(base_url=server.http) as http:
            await sign_in(http, "ayse")
            page = await http.get(f"/console/requests/{number}")
            r = await http.post(
                f"/console/requests/{number}/reply",
                data={"csrf": field(page.text, "csrf"), "text": "Yanıtladık"},
            )
            assert r.status_code == 303
        assert (await q.expect("request_changed"))["request_number"] == number


async def test_a_signed_in_member_sees_their_own_requests(serve: Serve) -> None:
    """With the platform's identity token the widget lists the member's requests ("My
    requests") and opens one by its number; another member's token gets the same answer as
    an unknown number."""
    async with serve(identity_secret=SECRET) as server:
        a, _ = await agent(server, await make_agent(server, "ayse", departments=("finance",)))
        numbers = []
        for _ in range(2):
            p, _ = await member_chat(server, identity=identity())
            chat = (await a.expect("assigned"))["chat"]
            await a.send("end", chat=chat, resolution="resolved")
            numbers.append((await p.expect("ended"))["request_number"])
            await p.close()
        q, _ = await player(server)
        await q.send("my_requests", identity=identity())
        mine = (await q.expect("requests"))["requests"]
        assert [r["number"] for r in mine] == numbers[::-1]  # newest first
        assert mine[0]["topic"] == "payments" and mine[0]["status"] == "open"
        await q.send("look_up", number=numbers[0], identity=identity())
        assert (await q.expect("request"))["number"] == numbers[0]
        other = identity(sub="m-7", username="zeynep", email="z@example.com")
        await q.send("look_up", number=numbers[0], identity=other)
        await q.expect_error("request_not_found")
        await q.send("my_requests", identity=other)
        assert (await q.expect("requests"))["requests"] == []
        await q.send("my_requests", identity=identity()[:-3] + "abc")
        await q.expect_error("identity_invalid")
        # a document on it, sent as that member
        async with httpx.AsyncClient(base_url=server.http) as http:
            form = {"number": numbers[0], "identity": identity()}
            r = await http.post(
                "/api/requests/followup/files",
                data=form,
                files={"file": ("kimlik.png", png(), "image/png")},
            )
            assert r.status_code == 201 and r.json()["messages"][-1]["file"]["name"] == "kimlik.png"
            r = await http.post(
                "/api/requests/followup/files",
                data={**form, "identity": other},
                files={"file": ("kimlik.png", png(), "image/png")},
            )
            assert r.status_code == 404


async def test_a_later_chat_keeps_its_request_across_a_restart(serve: Serve) -> None:
    """The server stops while a later chat on a request is live; after the restart the chat
    still belongs to that request and ends with its number."""
    async with serve() as server:
        token = await make_agent(server, "ayse", name="Ayşe")
        a, _ = await agent(server, token)
        p, _ = await start_chat(server, name="Mehmet", email="mehmet@example.com")
        chat = (await p.expect("assigned"))["chat"]
        await a.send("end", chat=chat, resolution="needs_follow_up")
        number = (await p.expect("ended"))["request_number"]
        q, welcome = await player(server)
        await q.send(
            "follow_up", id="f1", number=number, contact="mehmet@example.com", text="Yine ben"
        )
        later = (await q.expect("following"))["chat"]
        await a.expect("assigned", chat=later)
        db = server.settings.db
    async with serve(db=db) as again:
        a2, aw = await agent(again, token)
        assert [(c["chat"], c["continues"]) for c in aw["chats"]] == [(later, number)]
        q2, w2 = await player(again, resume=welcome["session"])
        assert (w2["state"], w2["chat"]) == ("active", later)
        await a2.send("end", chat=later, resolution="resolved")
        assert (await q2.expect("ended"))["request_number"] == number
        rec = await again.hub.store.request(number.replace("-", ""))
        assert rec is not None and [c.id for c in rec.chats] == [chat, later]
        assert (
            await again.hub.store.latest_chat(w2["chat"] and rec.chats[1].session_id)
        ) is not None
