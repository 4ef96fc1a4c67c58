"""Requests after the chat: transcripts, statuses, the player's lookup, e-mail."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from chatserver.config import WEBHOOK_EVENTS
from tests.support import Mailbox, RunningServer, agent, make_agent, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def finished_chat(server: RunningServer) -> tuple[str, str, Any]:
    """A chat with a message, a note and a file, ended; returns (token, number, player socket)."""
    token = await make_agent(server, "ayse", name="Ayşe")
    a, _ = await agent(server, token)
    p, welcome = await start_chat(server, name="Mehmet", email="mehmet@example.com")
    chat = (await p.expect("assigned"))["chat"]
    await p.send("message", id="p1", text="Çekimim <b>nerede</b>?")
    await a.expect("message", id="p1")
    await a.send("note", chat=chat, id="n1", text="secret note for agents")
    await a.expect("note", id="n1")
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(
            f"/api/chats/{chat}/files",
            files={"file": ("dekont.txt", b"receipt 42", "text/plain")},
            headers={"Authorization": f"Session {welcome['session']}"},
        )
        assert r.status_code == 201
    await a.send("end", chat=chat, resolution="resolved")
    number = (await p.expect("ended"))["request_number"]
    return token, number, p


async def test_transcript_in_every_format(server: RunningServer) -> None:
    """JSON, text and a printable page, each with notes marked and attachments listed."""
    token, number, _ = await finished_chat(server)
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.http, headers=auth) as http:
        r = await http.get(f"/api/requests/{number}/transcript", params={"format": "json"})
        body = r.json()
        assert body["number"] == number
        notes = [e for e in body["transcript"] if e["internal"]]
        assert [n["text"] for n in notes] == ["secret note for agents"]
        assert body["attachments"][0]["name"] == "dekont.txt"
        assert len(body["attachments"][0]["sha256"]) == 64

        txt = await http.get(f"/api/requests/{number}/transcript", params={"format": "txt"})
        assert txt.headers["content-type"].startswith("text/plain")
        assert "[internal note] Ayşe: secret note for agents" in txt.text
        assert "Çekimim <b>nerede</b>?" in txt.text and "dekont.txt" in txt.text

        html = await http.get(f"/api/requests/{number}/transcript", params={"format": "html"})
        assert html.headers["content-type"].startswith("text/html")
        assert "Çekimim &lt;b&gt;nerede&lt;/b&gt;?" in html.text  # escaped, never markup
        assert "<script" not in html.text and "Internal note" in html.text
        assert "default-src 'none'" in html.headers["content-security-policy"]

        r = await http.get(f"/api/requests/{number}/transcript", params={"format": "pdf"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "format"
        files = (await http.get(f"/api/requests/{number}/files")).json()["files"]
        assert [f["name"] for f in files] == ["dekont.txt"]


async def test_status_changes_are_recorded_and_e_mailed(serve: Serve, mailbox: Mailbox) -> None:
    """open -> pending -> resolved -> closed -> open again; wrong moves are refused."""
    async with serve(**mailbox.settings()) as server:
        token, number, _ = await finished_chat(server)
        auth = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server.http, headers=auth) as http:
            for status in ("pending", "resolved", "closed", "open"):
                r = await http.post(
                    f"/api/requests/{number}/status",
                    json={"status": status, "note": f"now {status}"},
                )
                assert r.status_code == 200, r.text
                assert r.json()["status"] == status
                to, mail = await mailbox.next()
                assert to == ["mehmet@example.com"] and number in mail["Subject"]
                assert f"now {status}" in mail.get_body(("plain",)).get_content()
            r = await http.post(f"/api/requests/{number}/status", json={"status": "open"})
            assert r.status_code == 409 and r.json()["error"]["code"] == "wrong_state"
            r = await http.post(f"/api/requests/{number}/status", json={"status": "done"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_status"
            r = await http.post(f"/api/requests/{number}/status", content=b"{")
            assert r.status_code == 400 and r.json()["error"]["code"] == "bad_json"
        assert server.hub.notifications is not None
        await asyncio.wait_for(server.hub.notifications.wait_until(lambda d: d.sent >= 5), 10)
        rec = await server.hub.store.request(number.replace("-", ""))
        assert rec is not None
        changes = [e for e in rec.events if e.kind == "status"]
        assert [(e.from_status, e.to_status) for e in changes] == [
            (None, "open"),
            ("open", "pending"),
            ("pending", "resolved"),
            ("resolved", "closed"),
            ("closed", "open"),
        ]
        assert changes[1].actor == "Ayşe (agent 1)" and changes[1].note == "now pending"
        # every e-mail the player got is in the history too
        told = [e.note for e in rec.events if e.kind == "notification"]
        assert len(told) == 5 and all("mehmet@example.com" in (n or "") for n in told)


async def test_the_players_lookup(server: RunningServer) -> None:
    """The right pair shows the status; a wrong pair looks exactly like an unknown number."""
    token, number, _ = await finished_chat(server)
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(
            "/api/requests/lookup", json={"number": number.lower(), "contact": "MEHMET@example.com"}
        )
        assert r.status_code == 200
        body = r.json()
        assert (body["number"], body["status"]) == (number, "open")
        assert "transcript" not in body and [h["status"] for h in body["history"]] == ["open"]
        wrong = await http.post(
            "/api/requests/lookup", json={"number": number, "contact": "someone@example.com"}
        )
        from chatserver.core.requests import format_request_number, request_number_from_bits

        unknown = format_request_number(request_number_from_bits(7))
        missing = await http.post(
            "/api/requests/lookup", json={"number": unknown, "contact": "mehmet@example.com"}
        )
        assert wrong.status_code == missing.status_code == 404
        assert wrong.json() == missing.json()
        page = await http.post(
            "/requests/lookup?lang=en", data={"number": number, "contact": "mehmet@example.com"}
        )
        assert page.status_code == 200 and "Open" in page.text and number in page.text
        page = await http.post("/requests/lookup", data={"number": number, "contact": "x@y.z"})
        assert page.status_code == 404 and "eşleşen bir talep bulunamadı" in page.text
        for _ in range(10):
            await http.post("/api/requests/lookup", json={"number": number, "contact": "nope"})
        r = await http.post(
            "/api/requests/lookup", json={"number": number, "contact": "mehmet@example.com"}
        )
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


async def test_the_player_gets_the_transcript_by_e_mail(serve: Serve, mailbox: Mailbox) -> None:
    """After the chat, one frame mails the request number and transcript; never the notes."""
    async with serve(**mailbox.settings()) as server:
        _, number, p = await finished_chat(server)
        await p.send("email_transcript")
        sent = await p.expect("emailed")
        assert sent == {
            "type": "emailed",
            "request_number": number,
            "to": "mehmet@example.com",
        }
        to, mail = await mailbox.next()
        assert to == ["mehmet@example.com"] and number in mail["Subject"]
        text = mail.get_body(("plain",)).get_content()
        html = mail.get_body(("html",)).get_content()
        assert "Çekimim <b>nerede</b>?" in text and "secret note" not in text
        assert "&lt;b&gt;" in html and "secret note" not in html and "dekont.txt" in html


async def test_e_mail_not_set_up_is_a_clear_error(server: RunningServer) -> None:
    """Without SMTP settings the player is told e-mail is unavailable."""
    _, _, p = await finished_chat(server)
    await p.send("email_transcript")
    await p.expect_error("email_unavailable")


async def test_openapi_describes_the_api(server: RunningServer) -> None:
    """The OpenAPI document lists every public endpoint and both webhooks."""
    async with httpx.AsyncClient(base_url=server.http) as http:
        spec = (await http.get("/api/openapi.json")).json()
    assert spec["openapi"].startswith("3.1")
    for path in (
        "/api/requests",
        "/api/requests/{number}",
        "/api/requests/{number}/status",
        "/api/requests/{number}/transcript",
        "/api/requests/lookup",
        "/api/requests/followup/files",
        "/api/chats/{chat}/files",
        "/api/files/{file}",
        "/api/privacy/subjects",
        "/api/privacy/subjects/erase",
        "/api/audit",
    ):
        assert path in spec["paths"], path
    assert set(spec["webhooks"]) == set(WEBHOOK_EVENTS)  # every event a webhook can carry
    json.dumps(spec)  # plain JSON all the way
