"""A complaint's whole life through real servers: the agent resolves it, the player is asked
by e-mail (a local SMTP server) and SMS (a local HTTP receiver), says "not resolved", a
supervisor takes the escalation and resolves it, the player confirms through the link, and
it closes; every step is in the history and every webhook arrives once."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chatserver.core.identity import Member
from tests.integration.test_console_http import field, sign_in
from tests.integration.test_webhooks import Receiver
from tests.integration.test_webhooks import settings as hook_settings
from tests.support import Mailbox, RunningServer, agent, make_agent, player, serve_asgi, t

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


class SmsReceiver:
    """The operator's SMS provider: records each message it is asked to send."""

    def __init__(self) -> None:
        self.sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.app = Starlette(routes=[Route("/sms", self.sms, methods=["POST"])])

    async def sms(self, request: Request) -> Response:
        if request.headers.get("x-api-key") != "sms-key":
            return Response("who are you", status_code=401)
        await self.sent.put(json.loads(await request.body()))
        return Response("queued", status_code=202)

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.sent.get(), t(10))


async def test_a_complaints_whole_life(serve: Serve, mailbox: Mailbox) -> None:
    sms, hooks = SmsReceiver(), Receiver()
    async with serve_asgi(sms.app) as sms_base, serve_asgi(hooks.app) as hook_base:
        extra = {
            **mailbox.settings(),
            **hook_settings(f"{hook_base}/hook"),
            "sms_url": f"{sms_base}/sms",
            "sms_auth_header": "X-Api-Key: sms-key",
        }
        async with serve(**extra) as server:
            await life(server, mailbox, sms, hooks)


async def life(server: RunningServer, mailbox: Mailbox, sms: SmsReceiver, hooks: Receiver) -> None:
    store = server.hub.store
    await store.upsert_members(
        [Member("m-9", "zeynep9", "zeynep@example.com", "Zeynep", date(1990, 1, 1))]
    )
    ayse = await make_agent(server, "ayse", departments=("complaints",))
    boss = await make_agent(server, "selin", role="supervisor", departments=("complaints",))
    a, _ = await agent(server, ayse)
    p, _ = await player(server)
    await p.send(
        "prechat", topic="complaint", username="zeynep9", email="zeynep@example.com",
        phone="+90 555 123 45 67", age_confirmed=True,
    )  # fmt: skip
    chat = (await p.expect("assigned"))["chat"]
    await p.send("message", id="p1", text="Bonusum hesabıma geçmedi")
    await a.expect("message", id="p1")
    await a.send("end", chat=chat, resolution="resolved")
    number = (await p.expect("ended"))["request_number"]

    # at once: the receipt, then "is it resolved?" with a link, by e-mail and by SMS
    first = [await mailbox.next(receipts=True), await mailbox.next(receipts=True)]
    assert all(to == ["zeynep@example.com"] for to, _ in first)  # (sent side by side)
    subjects = {str(m["Subject"]): m for _, m in first}
    assert any(s.startswith("Talebiniz alındı") and number in s for s in subjects)
    asked = next(m for s, m in subjects.items() if "çözüldü mü" in s)
    link = re.search(r"(http\S+/requests/answer/\S+)", asked.get_body(("plain",)).get_content())
    assert link is not None
    texts = [(await sms.next()), (await sms.next())]
    assert {m["to"] for m in texts} == {"+905551234567"}
    assert any(link.group(1) in m["text"] for m in texts)

    # the player says "not resolved" in the widget: escalated, one step higher
    await p.send("rate", resolved=False, rating=1, comment="hâlâ yok")
    await p.expect("rated")
    events: list[str] = []
    while "request.escalated" not in events:  # the ticket system hears of it
        events.append((await hooks.next())["json"]["event"])
    auth = {"Authorization": f"Bearer {boss}"}
    async with httpx.AsyncClient(base_url=server.http) as http:
        rec = (await http.get(f"/api/requests/{number}", headers=auth)).json()
        assert rec["status"] == "escalated"
    async with httpx.AsyncClient(base_url=server.http) as http:
        await sign_in(http, "selin")
        page = await http.get("/console/escalations")
        assert number in page.text
        r = await http.post(
            f"/console/requests/{number}/take", data={"csrf": field(page.text, "csrf")}
        )
        assert r.status_code == 303
        r = await http.post(
            f"/api/requests/{number}/status",
            json={"status": "resolved", "note": "Bonus hesabınıza tanımlandı."},
            headers=auth,
        )
        assert r.status_code == 200 and r.json()["status"] == "awaiting_confirmation"
    # that it went to a supervisor, and the question again (in either order)
    later = {str(m["Subject"]): m for _, m in [await mailbox.next(), await mailbox.next()]}
    assert any("yöneticiye iletildi" in s for s in later)
    asked_again = next(m for s, m in later.items() if "çözüldü mü" in s)
    again = re.search(
        r"(http\S+/requests/answer/\S+)", asked_again.get_body(("plain",)).get_content()
    )
    assert again is not None and again.group(1) != link.group(1)

    async with httpx.AsyncClient() as http:
        old = await http.get(link.group(1))  # the first link is spent
        assert old.status_code == 404
        page = await http.get(again.group(1))
        assert page.status_code == 200 and "Evet" in page.text
        done = await http.post(again.group(1), data={"resolved": "yes"})
        assert done.status_code == 200 and "kapatıldı" in done.text
        assert (await http.post(again.group(1), data={"resolved": "no"})).status_code == 404

    rec_ = await store.request(number.replace("-", ""))
    assert rec_ is not None and rec_.status == "closed" and rec_.priority == 2
    steps = [(e.from_status, e.to_status) for e in rec_.events if e.kind == "status"]
    assert steps == [
        (None, "open"),
        ("open", "awaiting_confirmation"),
        ("awaiting_confirmation", "escalated"),
        ("escalated", "awaiting_confirmation"),
        ("awaiting_confirmation", "closed"),
    ]
    assert any(e.kind == "owner" for e in rec_.events)
    while len(events) < 7:
        events.append((await hooks.next())["json"]["event"])

    # a closed complaint that was escalated and rated 1 goes to quality review
    review = await store.qa_review(number.replace("-", ""))
    assert review is not None and set(review.reasons) >= {"low_rating", "escalated", "complaint"}
    async with httpx.AsyncClient(base_url=server.http) as http:
        await sign_in(http, "selin")
        queue = await http.get("/console/qa")
        assert number in queue.text
        page = await http.get(f"/console/qa/{number}")
        answers = {"greeting": "5", "understanding": "3", "accuracy": "2", "tone": "5"}
        r = await http.post(
            f"/console/qa/{number}", data={"csrf": field(page.text, "csrf"), **answers}
        )
        assert r.status_code == 400 and "closing" in r.text  # every criterion is scored
        r = await http.post(
            f"/console/qa/{number}",
            data={"csrf": field(page.text, "csrf"), **answers, "closing": "4",
                  "comment": "Bonus kuralını ilk seferde kontrol et."},
        )  # fmt: skip
        assert r.status_code == 303
    # (5*1 + 3*2 + 2*3 + 5*1 + 4*1) / (8 * 5) = 26/40
    assert (await store.qa_review(number.replace("-", ""))).score == 65.0  # type: ignore[union-attr]
    call = await hooks.next()
    assert call["json"]["event"] == "qa.reviewed" and call["json"]["score"] == 65.0
    async with httpx.AsyncClient(base_url=server.http) as http:
        await sign_in(http, "ayse")
        mine = await http.get("/console/qa/mine")
        assert "65.0" in mine.text and "Bonus kuralını" in mine.text
    assert sorted(events) == sorted(
        [
            "request.created", "chat.ended", "request.awaiting_confirmation",
            "request.updated",  # (the rating)
            "request.escalated", "request.awaiting_confirmation", "request.updated",
        ]
    )  # fmt: skip


async def test_an_agent_escalates_a_live_chat_and_a_supervisor_takes_it_over(
    server: RunningServer,
) -> None:
    """The agent asks supervisors in, saying why; the supervisor of the department hears of it
    (one of another department does not), takes the chat over, and the request starts with
    supervisors."""
    ayse = await make_agent(server, "ayse", departments=("technical",))
    boss = await make_agent(server, "selin", role="supervisor", departments=("technical",))
    other = await make_agent(server, "murat", role="supervisor", departments=("finance",))
    a, _ = await agent(server, ayse)
    sup, _ = await agent(server, boss, status="away")
    far, _ = await agent(server, other, status="away")
    p, _ = await player(server)
    await p.send("prechat", name="Mehmet", email="m@example.com", topic="technical",
                 age_confirmed=True)  # fmt: skip
    chat = (await p.expect("assigned"))["chat"]
    await a.send("escalate", chat=chat, reason="")
    assert (await a.expect_error("invalid_field"))["field"] == "reason"
    await a.send("escalate", chat=chat, reason="Oyuncu hukuki işlem istiyor")
    heard = await sup.expect("escalated", chat=chat)
    assert heard["reason"] == "Oyuncu hukuki işlem istiyor" and heard["agent"]["name"] == "Ayse"
    await a.expect("note")  # the reason, as a note on the chat
    await far.send("take_over", chat=chat)
    await far.expect_error("chat_not_found")
    await sup.send("take_over", chat=chat)
    took = await sup.expect("assigned", chat=chat)
    assert took["chat"] == chat
    await a.expect("unassigned", chat=chat)
    await p.expect("message", event="taken_over")
    await sup.send("message", chat=chat, id="s1", text="Merhaba, ben Selin.")
    assert (await p.expect("message", id="s1"))["text"] == "Merhaba, ben Selin."
    await sup.send("end", chat=chat)
    number = (await p.expect("ended"))["request_number"]
    rec = await server.hub.store.request(number.replace("-", ""))
    assert rec is not None and rec.status == "escalated" and rec.priority >= 1
