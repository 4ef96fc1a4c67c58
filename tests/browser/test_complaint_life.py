"""A complaint's whole life in real browsers, in Turkish and in English: the player chats in
the widget, the agent resolves it, the player gets an e-mail (local SMTP server) and an SMS
(local HTTP receiver) and says "not resolved" in the widget, a supervisor takes the escalation
in the console and resolves it, the player confirms through the e-mailed link, and it is
closed, with every step in its history."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date

import pytest
from playwright.async_api import expect

from chatserver.core.identity import Member
from tests.browser.conftest import shot
from tests.browser.helpers import open_widget, w
from tests.integration.test_complaints import SmsReceiver
from tests.support import Mailbox, RunningServer, agent, make_agent, serve_asgi

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
PASSWORD = "correct horse battery"

T = {
    "tr": {
        "asked": "çözüldü mü", "no": "Hayır", "stars": "5 üzerinden 1",
        "send": "Değerlendirmeyi gönder", "yes": "Evet, çözüldü", "closed": "kapatıldı",
        "username": "Kullanıcı adı", "password": "Parola", "sign_in": "Giriş yap",
        "escalations": "Üst birime iletilenler", "take": "Üstlen", "change": "Kaydet",
    },
    "en": {
        "asked": "resolved?", "no": "No", "stars": "1 out of 5",
        "send": "Send feedback", "yes": "Yes, it is resolved", "closed": "closed",
        "username": "Username", "password": "Password", "sign_in": "Sign in",
        "escalations": "Escalations", "take": "Take", "change": "Save",
    },
}  # fmt: skip


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_a_complaints_whole_life(serve: Serve, mailbox: Mailbox, new_page, lang: str) -> None:  # type: ignore[no-untyped-def]
    t = T[lang]
    sms = SmsReceiver()
    async with serve_asgi(sms.app) as sms_base:
        settings = {
            **mailbox.settings(),
            "sms_url": f"{sms_base}/sms",
            "sms_auth_header": "X-Api-Key: sms-key",
        }
        async with serve(**settings) as srv:
            await srv.hub.store.upsert_members(
                [Member("m-9", "zeynep9", "zeynep@example.com", "Zeynep", date(1990, 1, 1))]
            )
            ayse = await make_agent(srv, "ayse", name="Ayşe", departments=("complaints",))
            await make_agent(srv, "selin", role="supervisor", departments=("complaints",))
            a, _ = await agent(srv, ayse)

            # the player's complaint, in the widget
            player = await new_page(locale="tr-TR" if lang == "tr" else "en-GB")
            await open_widget(player, srv, lang)
            await w(player).locator("#cs-pre-topic").select_option("complaint")
            await w(player).locator("#cs-pre-email").fill("zeynep@example.com")
            await w(player).locator("#cs-pre-username").fill("zeynep9")
            await w(player).locator("#cs-pre-phone").fill("+90 555 123 45 67")
            await w(player).locator("#cs-pre-age").check()
            await w(player).locator("#cs-pre-email").press("Enter")
            chat = (await a.expect("assigned"))["chat"]
            await a.send("message", chat=chat, id="a1", text="Bonusunuzu tanımladık.")
            await a.send("end", chat=chat, resolution="resolved")
            number = (await a.expect("ended", chat=chat))["request_number"]
            await expect(w(player).locator(".number")).to_have_text(number)

            # asked by e-mail and SMS
            _, asked = await mailbox.next()
            assert t["asked"] in asked["Subject"]
            texts = [(await sms.next())["text"], (await sms.next())["text"]]
            assert all(number in x for x in texts) and any("/requests/answer/" in x for x in texts)

            # "not resolved", in the widget
            await w(player).get_by_label(t["no"], exact=True).check()
            await w(player).get_by_label(t["stars"]).check()
            await w(player).get_by_role("button", name=t["send"]).click()

            # a supervisor takes the escalation and resolves it
            console = await new_page(locale="tr-TR" if lang == "tr" else "en-GB")
            await console.goto(f"{srv.http}/console/login?next=/console/escalations")
            await console.get_by_label(t["username"]).fill("selin")
            await console.get_by_label(t["password"]).fill(PASSWORD)
            await console.get_by_role("button", name=t["sign_in"]).click()
            await console.wait_for_url("**/console/escalations")
            row = console.locator("#escalated tr", has_text=number)
            await expect(row).to_be_visible()  # the answer escalated it
            await shot(console, f"console-escalations-{lang}")
            await row.get_by_role("button", name=t["take"]).click()
            await console.wait_for_url(f"**/console/requests/{number}")
            await console.locator("#status").select_option("resolved")
            await console.get_by_role("button", name=t["change"]).click()
            await console.wait_for_url(f"**/console/requests/{number}")

            # the player confirms through the new link
            while True:
                _, mail = await mailbox.next()
                found = re.search(
                    r"(http\S+/requests/answer/\S+)", mail.get_body(("plain",)).get_content()
                )
                if found:
                    break
            await player.goto(found.group(1))
            await player.get_by_role("button", name=t["yes"]).click()
            await expect(player.locator("#answer-result")).to_contain_text(t["closed"])

            rec = await srv.hub.store.request(number.replace("-", ""))
            assert rec is not None and rec.status == "closed"
            assert [e.to_status for e in rec.events if e.kind == "status"] == [
                "open", "awaiting_confirmation", "escalated", "awaiting_confirmation", "closed",
            ]  # fmt: skip
            assert any(e.kind == "owner" for e in rec.events)
