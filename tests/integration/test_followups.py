"""Follow-ups after the chat: the team asks the player for something, the player answers on
the request with its number and their contact, the request is the team's again and in the
inbox, an agent replies, and the player reads it on the request's page; a wrong contact gets
the same answer as an unknown number."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

from chatserver.core.requests import format_request_number, request_number_from_bits
from tests.integration.test_console_http import field, sign_in
from tests.integration.test_files import png
from tests.support import Mailbox, RunningServer, agent, make_agent, player, start_chat

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
            inbox = (await http.get("/console/inbox")).text
            assert number in inbox
            r = await http.post(  # Ayşe takes it from the inbox
                f"/console/requests/{number}/take", data={"csrf": field(inbox, "csrf")}
            )
            assert r.status_code == 303
            assert ">yours<" in (await http.get("/console/inbox")).text
            page = await http.get(f"/console/requests/{number}")
            assert "Dekont: 12345" in page.text
            r = await http.post(
                f"/console/requests/{number}/reply",
                data={"csrf": field(page.text, "csrf"), "text": "Teşekkürler, ödemeniz yapıldı."},
            )
            assert r.status_code == 303
        _, replied = await mailbox.next()
        assert number in replied["Subject"]
        body = replied.get_body(("plain",)).get_content()
        assert "ödemeniz yapıldı" in body

        # its link opens the request without the number and contact, and takes an answer
        link = re.search(r"(/requests/view/[A-Za-z0-9_-]+)\?lang=tr", body)
        assert link is not None
        async with httpx.AsyncClient(base_url=server.http) as http:
            page = await http.get(link.group(0))
            assert page.status_code == 200 and "ödemeniz yapıldı" in page.text
            page = await http.post(link.group(0), data={"text": "Linkten yazıyorum"})
            assert page.status_code == 200 and "Linkten yazıyorum" in page.text
            forged = await http.get(link.group(1)[:-4] + "AAAA?lang=tr")
            assert forged.status_code == 404 and "Linkten" not in forged.text

        # the player reads it on the request's page, and writes again there
        async with httpx.AsyncClient(base_url=server.http) as http:
            form = {"number": number, "contact": "mehmet@example.com"}
            page = await http.post("/requests/lookup", data=form)
            assert page.status_code == 200 and "ödemeniz yapıldı" in page.text
            page = await http.post("/requests/lookup", data={**form, "text": "Aldım, sağolun"})
            assert "Aldım, sağolun" in page.text
        rec = await server.hub.store.request(number.replace("-", ""))
        assert rec is not None
        authors = [f.author for f in rec.followups]
        assert authors == ["player", "agent:1", "player", "player"]

        # the receipt the team asked for, as a file on the request; checked by content
        async with httpx.AsyncClient(base_url=server.http) as http:
            form = {"number": number, "contact": "mehmet@example.com", "text": "Dekont ekte"}
            r = await http.post(
                "/api/requests/followup/files",
                data=form,
                files={"file": ("dekont.png", png(), "image/png")},
            )
            assert r.status_code == 201, r.text
            added = r.json()["messages"][-1]
            assert added["text"] == "Dekont ekte"
            assert added["file"] == {"name": "dekont.png", "type": "image/png", "size": len(png())}
            fake = await http.post(
                "/api/requests/followup/files",
                data=form,
                files={"file": ("dekont.png", b"MZ\x90\x00 not an image", "image/png")},
            )
            assert (
                fake.status_code == 415 and fake.json()["error"]["code"] == "file_type_not_allowed"
            )
            wrong = await http.post(
                "/api/requests/followup/files",
                data={**form, "contact": "x@y.z"},
                files={"file": ("dekont.png", png(), "image/png")},
            )
            assert wrong.status_code == 404
            assert wrong.json()["error"]["code"] == "request_not_found"
            # the team sees it on the request's page and downloads it
            await sign_in(http, "ayse")
            page = await http.get(f"/console/requests/{number}")
            link = re.search(r'href="(/api/files/[^"]+)" download>dekont.png<', page.text)
            assert link is not None
            got = await http.get(link.group(1))
            assert got.status_code == 200 and got.content == png()


async def test_a_link_opens_the_request_in_the_widget_until_it_expires(
    serve: Serve, mailbox: Mailbox
) -> None:
    """With ``follow_url``, a notification's link points at the platform's page with the
    widget, which opens the request by the link's secret; after ``request_link_days`` the
    link is refused with ``link_expired``."""
    page = "https://casino.example/support"
    async with serve(**mailbox.settings(), follow_url=page, request_link_days=1) as server:
        token = await make_agent(server, "ayse", name="Ayşe")
        a, _ = await agent(server, token)
        p, _ = await start_chat(server, name="Mehmet", email="mehmet@example.com")
        chat = (await p.expect("assigned"))["chat"]
        await a.send("end", chat=chat, resolution="needs_follow_up")
        number = (await p.expect("ended"))["request_number"]
        _, created = await mailbox.next(receipts=True)  # the number at once, with its link
        body = created.get_body(("plain",)).get_content()
        found = re.search(re.escape(page) + r"#cs-request=([A-Za-z0-9_-]+)", body)
        assert found is not None and "/requests/view/" not in body
        w, _ = await player(server)
        await w.send("look_up", link=found.group(1))
        seen = await w.expect("request")
        assert seen["number"] == number and seen["status"] == "open"
        await w.send("look_up", link=found.group(1)[:-4] + "AAAA")
        await w.expect_error("link_expired")
        # two days on, the link no longer opens it
        later = server.hub.clock() + 2 * 86400
        server.hub.clock = lambda: later
        await w.send("look_up", link=found.group(1))
        await w.expect_error("link_expired")
