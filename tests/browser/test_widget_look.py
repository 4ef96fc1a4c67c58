"""The widget as players see it (issue 19): labels that follow the topic's rules, an end
screen that keeps the conversation, real stars, the transcript offered only when it can be
sent, "Sent" after a reload, a visible focus ring, 16 px inputs, and a header like a chat
app's. Screenshots at 1280x800 and 390x844, in Turkish and English."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import shot
from tests.browser.helpers import open_widget, say, start_chat, w
from tests.support import RunningServer, agent, make_agent

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
SIZES = [("desktop", 1280, 800), ("phone", 390, 844)]
WORDS = {
    "tr": {"optional": "(isteğe bağlı)", "age": "18 yaşını doldurdum", "sent": "İletildi",
           "close": "Canlı desteği kapat", "greeting": "Genellikle birkaç dakika"},
    "en": {"optional": "(optional)", "age": "I am 18 or older", "sent": "Sent",
           "close": "Close live support", "greeting": "We usually reply"},
}  # fmt: skip


def each_look() -> Any:
    return pytest.mark.parametrize(
        ("lang", "size", "width", "height"),
        [(lang, *size) for lang in ("tr", "en") for size in SIZES],
    )


async def _optional(page: Page, name: str) -> bool:
    return await w(page).locator(f"label[for=cs-pre-{name}] .opt").is_visible()


@each_look()
async def test_labels_follow_the_rules_of_the_chosen_topic(
    serve: Serve, new_page: Any, lang: str, size: str, width: int, height: int
) -> None:
    """A guest topic asks for a name and an e-mail (username optional, and explained); a
    members' topic for the username and e-mail (name optional)."""
    async with serve() as srv:
        await agent(srv, await make_agent(srv, "ayse"))
        page = await new_page(width=width, height=height)
        await open_widget(page, srv, lang)
        words = WORDS[lang]
        await expect(w(page).locator("label[for=cs-pre-age]")).to_have_text(words["age"])
        await w(page).locator("#cs-pre-topic").select_option("technical")
        assert not await _optional(page, "name") and not await _optional(page, "email")
        assert await _optional(page, "username")
        await expect(w(page).locator("#cs-pre-name")).to_have_attribute("aria-required", "true")
        await expect(w(page).locator("#cs-pre-username-hint")).to_be_visible()
        await shot(page, f"widget-prechat-guest-{lang}-{size}")
        await w(page).locator("#cs-pre-topic").select_option("payments")
        assert await _optional(page, "name") and not await _optional(page, "username")
        await expect(w(page).locator("#cs-pre-username")).to_have_attribute("aria-required", "true")
        await expect(w(page).locator("#cs-pre-hint")).to_be_visible()
        await shot(page, f"widget-prechat-member-{lang}-{size}")


@each_look()
async def test_the_end_screen_keeps_the_conversation_and_has_real_stars(
    serve: Serve, new_page: Any, lang: str, size: str, width: int, height: int
) -> None:
    """After the end: the number with copy, the conversation folded away, five large stars
    that light up to the choice; no transcript button without a mail server."""
    async with serve() as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse", name="Ayşe Yılmaz"))
        page = await new_page(width=width, height=height)
        await open_widget(page, srv, lang)
        await start_chat(page)
        chat = (await a.expect("assigned"))["chat"]
        await say(page, "Merhaba")
        await a.expect("message", chat=chat, **{"from": "player"})
        await a.send("message", chat=chat, id="a1", text="Buyrun")
        await a.send("message", chat=chat, id="a2", text="Nasıl yardımcı olabilirim?")
        await expect(w(page).get_by_text("Nasıl yardımcı olabilirim?")).to_be_visible()
        # the header: the agent's initials, and one name over a group of their messages
        await expect(w(page).locator(".avatar")).to_have_text("AY")
        whos = w(page).locator(".log .msg.agent .who")
        assert [await x.is_visible() for x in await whos.all()] == [True, False]
        await shot(page, f"widget-chat-{lang}-{size}")
        header = await w(page).locator("header").bounding_box()
        assert header is not None and header["height"] < 70  # one line, End button included
        await a.send("end", chat=chat, resolution="resolved")
        await expect(w(page).locator(".number")).to_be_visible()
        await expect(w(page).locator("#cs-email")).to_be_hidden()  # no mail server here
        details = w(page).locator("details.transcript")
        await expect(details).not_to_have_attribute("open", "")
        await expect(details.locator("summary")).to_contain_text("3")  # (2 + the player's 1)
        await details.locator("summary").click()
        await expect(details.get_by_text("Nasıl yardımcı olabilirim?")).to_be_visible()
        stars = w(page).locator(".stars label")
        assert await stars.count() == 5
        box = await stars.nth(3).bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44
        await stars.nth(3).click()
        lit = [("on" in (await s.get_attribute("class") or "")) for s in await stars.all()]
        assert lit == [True, True, True, True, False]
        await shot(page, f"widget-ended-{lang}-{size}")


async def test_the_transcript_is_offered_when_the_server_sends_mail(
    serve: Serve, new_page: Any, mailbox: Any
) -> None:
    """With a mail server, the end screen offers the transcript, and it arrives."""
    async with serve(**mailbox.settings()) as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        page = await new_page()
        await open_widget(page, srv)
        await start_chat(page)
        chat = (await a.expect("assigned"))["chat"]
        await a.send("end", chat=chat, resolution="resolved")
        button = w(page).get_by_role("button", name="Görüşme kaydını e-postama gönder")
        await button.click()
        await expect(w(page).get_by_text("m@example.com adresine gönderildi.")).to_be_visible()
        rcpt, _ = await mailbox.next()
        assert rcpt == ["m@example.com"]


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_own_messages_stay_sent_after_a_reload(
    serve: Serve, new_page: Any, lang: str
) -> None:
    """A reload replays the player's own messages: they still say Sent."""
    async with serve() as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        page = await new_page()
        await open_widget(page, srv, lang)
        await start_chat(page)
        await a.expect("assigned")
        await say(page, "Çekimim gelmedi")
        await expect(w(page).locator(".msg.player .meta")).to_contain_text(WORDS[lang]["sent"])
        await page.reload()
        await page.wait_for_function("window.ChatWidget !== undefined")
        mine = w(page).locator(".msg.player", has_text="Çekimim gelmedi")
        await expect(mine.locator(".meta")).to_contain_text(WORDS[lang]["sent"])


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_focus_is_visible_inputs_do_not_zoom_and_the_launcher_closes(
    serve: Serve, new_page: Any, lang: str
) -> None:
    """The focus ring has at least 3:1 against white; inputs are 16 px; while open the
    launcher is a close button; the header greets and says how soon we reply."""
    async with serve() as srv:
        await agent(srv, await make_agent(srv, "ayse"))
        page = await new_page(width=1280, height=800)
        await open_widget(page, srv, lang)
        words = WORDS[lang]
        await expect(w(page).locator("header .sub")).to_contain_text(words["greeting"])
        email = w(page).locator("#cs-pre-email")
        assert await email.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16
        await email.focus()
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("Tab")  # focus by keyboard: :focus-visible
        ring = await email.evaluate("e => getComputedStyle(e).boxShadow")
        numbers = [int(x) for x in ring.split("rgb(")[1].split(")")[0].split(",")]
        ratio = (1.05) / (_luminance((numbers[0], numbers[1], numbers[2])) + 0.05)
        assert ratio >= 3, ring
        launcher = w(page).locator(".launcher")
        await expect(launcher).to_have_attribute("aria-label", words["close"])
        await shot(page, f"widget-focus-{lang}-desktop")
        await launcher.click()
        await expect(w(page).locator("#cs-panel")).to_be_hidden()
        await expect(launcher).not_to_have_attribute("aria-label", words["close"])
