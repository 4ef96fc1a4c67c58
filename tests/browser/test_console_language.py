"""The console in Turkish and English (issue 19): the browser's language until the agent
chooses, then their choice, on every page and in the scripts' texts. Screenshots in both
languages at 1280x800 and 390x844."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import shot
from tests.browser.test_console import PASSWORD, player_chat
from tests.support import RunningServer, make_agent

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


@pytest.mark.parametrize(("size", "width", "height"), [("desktop", 1280, 800), ("phone", 390, 844)])
async def test_the_console_speaks_the_agents_language(
    serve: Serve, new_page: Any, size: str, width: int, height: int
) -> None:
    """A Turkish browser gets the Turkish console; the agent switches to English, and their
    choice holds in a Turkish browser too."""
    async with serve() as srv:
        await make_agent(srv, "ayse", name="Ayşe")
        page = await new_page(width=width, height=height, locale="tr-TR")
        await page.goto(f"{srv.http}/console")
        await expect(page.get_by_role("heading", name="Temsilci konsolu")).to_be_visible()
        await page.get_by_label("Kullanıcı adı").fill("ayse")
        await page.get_by_label("Parola").fill(PASSWORD)
        await page.get_by_role("button", name="Giriş yap").click()
        await page.wait_for_url(f"{srv.http}/console")
        await expect(page.locator("html")).to_have_attribute("lang", "tr")
        await expect(page.locator("#pick")).to_have_text("Soldan bir görüşme seçin.")
        player = await player_chat(new_page, srv)
        await page.get_by_role("button", name="Mehmet").click()
        await expect(page.locator("#chat-title")).to_contain_text("Teknik sorun")
        await expect(page.locator("#p-verified")).to_have_text("misafir, doğrulanmadı")
        await expect(page.get_by_role("button", name="Görüşmeyi sonlandır")).to_be_visible()
        await shot(page, f"console-chat-tr-{size}")

        await page.locator("#console-lang").select_option("en")
        await page.get_by_role("button", name="Değiştir").click()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await page.get_by_role("button", name="Mehmet").click()
        await expect(page.locator("#chat-title")).to_contain_text("Technical problem")
        await expect(page.get_by_role("button", name="End chat")).to_be_visible()
        await shot(page, f"console-chat-en-{size}")

        # the choice is the agent's: another Turkish browser signs in to English
        other = await new_page(width=width, height=height, locale="tr-TR")
        await other.goto(f"{srv.http}/console")
        await other.get_by_label("Kullanıcı adı").fill("ayse")
        await other.get_by_label("Parola").fill(PASSWORD)
        await other.get_by_role("button", name="Giriş yap").click()
        await other.wait_for_url(f"{srv.http}/console")
        await expect(other.locator("#pick")).to_have_text("Pick a chat on the left.")
        assert player is not None
