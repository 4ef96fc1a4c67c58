"""Follow-ups after the chat: the team asks the player for something, the player answers on
the request with its number and their contact, the request is the team's again and in the
inbox, an agent replies, and the player reads it on the request's page; a wrong contact gets
the same answer as an unknown number."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

from chatserver.core.requests import format_request_number, request_number_from_bits
from tests.integration.test_console_http import field, sign_in
from tests.support import Mailbox, RunningServer, agent, make_agent, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def test_a_follow_up_reaches_the_inbox_and_the_answer_reaches_the_player(
    serve: Serve, mailbox: Mailbox
) -> None:
    async with serve(**mailbox.settings()) as server:
        token = await make_agent(server, "ayse", name="Ayşe", departments=("technical",))
        a, _ = await agent(server, token)
        p, _ = await start_chat(server, name="Mehmet", email="mehmet@example.com")
        chat = (await p.expect("assigned"))["chat"]
        await a.send("end", chat=chat, resolution="needs_follow_up")
        number = (await p.expect("ended"))["request_number"]
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server.http) as http:
            r = await http.post(
                f"/api/requests/{number}/status",
                json={"status": "pending", "note": "Dekontu gönderir misiniz?"},
                headers=auth,
            )
            assert r.json()["status"] == "pending"
            _, asked = await mailbox.next()
            assert "Dekontu gönderir misiniz?" in asked.get_body(("plain",)).get_content()

            # the player answers on the request; a wrong contact is an unknown number
            unknown = format_request_number(request_number_from_bits(9))
            wrong = await http.post(
                "/api/requests/followup",
                json={"number": number, "contact": "x@y.z", "text": "hi"},
            )
            missing = await http.post(
                "/api/requests/followup",
                json={"number": unknown, "contact": "mehmet@example.com", "text": "hi"},
            )
            assert wrong.status_code == missing.status_code == 404
            assert wrong.json() == missing.json()
            r = await http.post(
                "/api/requests/followup",
                json={"number": number, "contact": "MEHMET@example.com", "text": "Dekont: 12345"},
            )
            assert r.status_code == 201 and r.json()["status"] == "open"
            assert r.json()["messages"][0] == {
                "from": "player", "name": None, "text": "Dekont: 12345",
                "at": r.json()["messages"][0]["at"],
            }  # fmt: skip
            blank = await http.post(
                "/api/requests/followup",
                json={"number": number, "contact": "mehmet@example.com", "text": "  "},
            )
            assert blank.status_code == 400 and blank.json()["error"]["code"] == "empty_message"

        # the team's inbox has it; an agent replies from the request's page
        async with httpx.AsyncClient(base_url=server.http) as http:
            await sign_in(http, "ayse")
            assert number in (await http.get("/console/inbox")).text
            page = await http.get(f"/console/requests/{number}")
            assert "Dekont: 12345" in page.text
            r = await http.post(
                f"/console/requests/{number}/reply",
                data={"csrf": field(page.text, "csrf"), "text": "Teşekkürler, ödemeniz yapıldı."},
            )
            assert r.status_code == 303
        _, replied = await mailbox.next()
        assert number in replied["Subject"]
        assert "ödemeniz yapıldı" in replied.get_body(("plain",)).get_content()

        # the player reads it on the request's page, and writes again there
        async with httpx.AsyncClient(base_url=server.http) as http:
            form = {"number": number, "contact": "mehmet@example.com"}
            page = await http.post("/requests/lookup", data=form)
            assert page.status_code == 200 and "ödemeniz yapıldı" in page.text
            page = await http.post("/requests/lookup", data={**form, "text": "Aldım, sağolun"})
            assert "Aldım, sağolun" in page.text
        rec = await server.hub.store.request(number.replace("-", ""))
        assert rec is not None
        assert [f.author for f in rec.followups] == ["player", "agent:1", "player"]
