"""Driving the widget from tests: every lookup stays inside its host element (and shadow root)."""

from __future__ import annotations

from playwright.async_api import Locator, Page

from tests.support import RunningServer


def w(page: Page) -> Locator:
    """The widget's host element: every lookup stays inside it (and its shadow root)."""
    return page.locator("#chatserver-widget")


async def open_widget(page: Page, srv: RunningServer, lang: str = "tr") -> None:
    await page.goto(f"{srv.http}/?lang={lang}")
    await page.wait_for_function("window.ChatWidget !== undefined")
    await w(page).locator(".launcher").click()


async def start_chat(
    page: Page, name: str = "Mehmet", topic: str = "technical", email: str = "m@example.com"
) -> None:
    await w(page).locator("#cs-pre-name").fill(name)
    await w(page).locator("#cs-pre-email").fill(email)
    await w(page).locator("#cs-pre-topic").select_option(topic)
    await w(page).locator("#cs-pre-age").check()
    await w(page).locator("#cs-pre-name").press("Enter")


async def say(page: Page, text: str) -> None:
    box = (
        w(page)
        .get_by_role("textbox", name="Mesajınızı yazın…")
        .or_(w(page).get_by_role("textbox", name="Type your message…"))
    )
    await box.fill(text)
    await box.press("Enter")
