"""Following a request in the widget, in Turkish and in English: the player gives its number
and e-mail, reads the team's answer, writes while nobody is free (kept for the team), then
writes again once its agent is back, which opens a live chat on the same request that ends
with the same number."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import open_widget, w
from tests.browser.test_console import sign_in as console_sign_in
from tests.integration.test_console_http import field, sign_in
from tests.integration.test_files import png
from tests.integration.test_routing_identity import SECRET, identity, member_chat
from tests.support import RunningServer, agent, make_agent, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]

T = {
    "tr": {
        "follow": "Bir talebi takip edin",
        "status": "Açık",
        "kept": "talebinize eklendi",
        "log": "Görüşme",
    },
    "en": {
        "follow": "Follow a request",
        "status": "Open",
        "kept": "is on your request",
        "log": "Conversation",
    },
}


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_following_a_request_in_the_widget(serve: Serve, new_page, lang: str) -> None:  # type: ignore[no-untyped-def]
    t = T[lang]
    async with serve() as srv:
        token = await make_agent(srv, "ayse", name="Ayşe")
        a, _ = await agent(srv, token)
        p, _ = await start_chat(srv, name="Mehmet", email="mehmet@example.com")
        chat = (await p.expect("assigned"))["chat"]
        await a.send("end", chat=chat, resolution="needs_follow_up")
        number = (await p.expect("ended"))["request_number"]
        await p.close()
        await a.send("status", status="away")
        await a.barrier()
        async with httpx.AsyncClient(base_url=srv.http) as http:  # the team answers
            await sign_in(http, "ayse")
            page = await http.get(f"/console/requests/{number}")
            r = await http.post(
                f"/console/requests/{number}/reply",
                data={"csrf": field(page.text, "csrf"), "text": "Dekontu ekler misiniz?"},
            )
            assert r.status_code == 303

        player = await new_page(locale="tr-TR" if lang == "tr" else "en-GB")
        await open_widget(player, srv, lang)
        await w(player).get_by_role("button", name=t["follow"]).click()
        await w(player).locator("#cs-fol-number").fill(number.lower())
        await w(player).locator("#cs-fol-contact").fill("MEHMET@example.com")
        await w(player).locator("#cs-fol-contact").press("Enter")
        req = w(player).locator(".req")
        await expect(req.locator(".rnum")).to_have_text(number)
        await expect(req).to_contain_text(t["status"])
        await expect(req.locator(".msg.agent")).to_contain_text("Dekontu ekler misiniz?")
        await shot(player, f"widget-follow-request-{lang}")

        # nobody free: the words are kept on the request for the team
        await w(player).locator("#cs-fol-text").fill("Dekont no 4411")
        await w(player).locator(".req + div button.primary").click()
        await expect(w(player).locator(".view:not([hidden]) [role=status]")).to_contain_text(
            t["kept"]
        )
        await expect(req.locator(".msg.player")).to_contain_text("Dekont no 4411")
        async with httpx.AsyncClient(base_url=srv.http) as http:  # in the owner's inbox
            await sign_in(http, "ayse")
            inbox = (await http.get("/console/inbox")).text
            assert number in inbox
            # her answer appears in the open view by itself
            page = await http.get(f"/console/requests/{number}")
            r = await http.post(
                f"/console/requests/{number}/reply",
                data={"csrf": field(page.text, "csrf"), "text": "Dekontu aldık, teşekkürler."},
            )
            assert r.status_code == 303
        await expect(req.locator(".msg.agent").last).to_contain_text("Dekontu aldık")
        # and the receipt itself, as a file on the request
        await (
            w(player)
            .locator("#cs-fol-file")
            .set_input_files({"name": "dekont.png", "mimeType": "image/png", "buffer": png()})
        )
        await expect(req.locator(".msg.player").last).to_contain_text("dekont.png")

        # Ayşe is back: writing again opens a live chat on the same request, to her
        await a.send("status", status="online")
        await a.barrier()
        await w(player).locator("#cs-fol-text").fill("Şimdi konuşabilir miyiz?")
        await w(player).locator(".req + div button.primary").click()
        got = await a.expect("assigned")
        assert got["continues"] == number
        await a.send("message", chat=got["chat"], id="a1", text="Buradayım, bakıyorum.")
        chat_log = w(player).get_by_role("log", name=t["log"], exact=True)  # the chat's own
        await expect(chat_log.locator(".msg.agent")).to_contain_text("Buradayım")
        await expect(chat_log.locator(".msg.player")).to_contain_text("konuşabilir")
        await a.send("end", chat=got["chat"], resolution="resolved")
        await expect(w(player).locator(".number")).to_have_text(number)


async def test_a_signed_in_member_picks_from_their_requests(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """A member the site vouches for (ChatWidget.identify) sees "your requests" and opens one
    without typing its number."""
    async with serve(identity_secret=SECRET) as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse", departments=("finance",)))
        p, _ = await member_chat(srv, identity=identity())
        chat = (await a.expect("assigned"))["chat"]
        await a.send("message", chat=chat, id="a1", text="Çekiminiz onaylandı.")
        await a.send("end", chat=chat, resolution="resolved")
        number = (await p.expect("ended"))["request_number"]
        await p.close()

        player = await new_page(locale="en-GB")
        await open_widget(player, srv, "en")
        await player.evaluate("token => window.ChatWidget.identify(token)", identity())
        await w(player).get_by_role("button", name="Follow a request").click()
        mine = w(player).get_by_role("list", name="Your requests")
        await mine.get_by_role("button", name=re.compile(number)).click()
        req = w(player).locator(".req")
        await expect(req.locator(".rnum")).to_have_text(number)
        await expect(req.locator(".msg.agent")).to_contain_text("Çekiminiz onaylandı.")


async def test_a_later_chat_shows_its_request_in_the_console(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """The player writes on their request from the widget while its agent is free: the chat
    opens in her console workspace, and the player card names the request it continues."""
    async with serve() as srv:
        await make_agent(srv, "ayse", name="Ayşe")
        console = await new_page(locale="en-GB")
        await console_sign_in(console, srv, "ayse")
        p, _ = await start_chat(srv, name="Mehmet", email="mehmet@example.com")
        await p.expect("assigned")
        await p.send("end")
        number = (await p.expect("ended"))["request_number"]
        await p.close()

        player = await new_page(locale="en-GB")
        await open_widget(player, srv, "en")
        await w(player).get_by_role("button", name="Follow a request").click()
        await w(player).locator("#cs-fol-number").fill(number)
        await w(player).locator("#cs-fol-contact").fill("mehmet@example.com")
        await w(player).locator("#cs-fol-contact").press("Enter")
        await w(player).locator("#cs-fol-text").fill("About this request again")
        await w(player).locator(".req + div button.primary").click()
        # the new chat, once listed (the ended one stays in the list, marked)
        await console.locator("#chats li:not(.ended) button", has_text="Mehmet").click()
        await expect(console.get_by_text("About this request again")).to_be_visible()
        card = console.get_by_role("complementary", name="Player")
        await expect(card.locator("#p-continues")).to_have_text(number)
        await console.get_by_role("textbox", name="Message").fill("Welcome back")
        await console.get_by_role("textbox", name="Message").press("Enter")
        await expect(w(player).get_by_text("Welcome back")).to_be_visible()
