"""The console as agents see it (issue 19): nothing to press with no chat open, names for
topics and departments, bubbles that tell the two sides apart, the end of a chat in view
with the attach button off, and a request page whose status and outcome explain each other.
Screenshots at 1280x800 and 390x844."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import say
from tests.browser.test_console import player_chat, sign_in
from tests.support import RunningServer, make_agent

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


def _luminance(css: str) -> float:
    r, g, b = (int(x) for x in css.split("(")[1].split(")")[0].split(",")[:3])

    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


@pytest.mark.parametrize(("size", "width", "height"), [("desktop", 1280, 800), ("phone", 390, 844)])
async def test_the_console_tells_things_apart(
    serve: Serve, new_page: Any, size: str, width: int, height: int
) -> None:
    """No chat open: no Transfer or End, the hint in the middle. A chat: its topic's and
    department's names, player and agent bubbles far apart in colour. Ended: the last
    line in view, nothing to attach."""
    async with serve() as srv:
        await make_agent(srv, "ayse", name="Ayşe")
        console = await new_page(width=width, height=height, locale="en-GB")
        await sign_in(console, srv, "ayse")
        await expect(console.locator("#transfer")).to_be_hidden()
        await expect(console.locator("#end")).to_be_hidden()
        await expect(console.locator("#pick")).to_be_visible()
        if size == "desktop":
            pick = await console.locator("#pick").bounding_box()
            assert pick is not None and 200 < pick["y"] < 600  # (not at the bottom)
        await shot(console, f"console-empty-{size}")

        player = await player_chat(new_page, srv)
        await console.get_by_role("button", name="Mehmet").click()
        await expect(console.locator("#chat-title")).to_contain_text("Technical problem")
        await expect(console.locator("#chat-title")).to_contain_text("Technical support")
        await expect(console.locator("#p-topic")).to_have_text("Technical problem")
        await say(player, "Param hesabıma geçmedi")
        await console.get_by_role("textbox", name="Message").fill("Hemen bakıyorum")
        await console.get_by_role("textbox", name="Message").press("Enter")
        await expect(console.locator(".msg.agent")).to_contain_text("Hemen bakıyorum")
        # found and measured in one go: the console draws the log anew on each frame, and an
        # element found first may be gone (no style) by the time it is measured
        colour = "sel => getComputedStyle(document.querySelector(sel)).backgroundColor"
        mine = await console.evaluate(colour, ".msg.agent")
        theirs = await console.evaluate(colour, ".msg.player")
        light, dark = sorted((_luminance(mine), _luminance(theirs)))
        assert (dark + 0.05) / (light + 0.05) >= 3, (mine, theirs)
        await shot(console, f"console-chat-{size}")

        await player.evaluate("window.ChatWidget.open()")
        from tests.browser.helpers import w

        await w(player).get_by_role("button", name="Görüşmeyi sonlandır").click()
        await w(player).get_by_role("button", name="Evet, sonlandır").click()
        await expect(console.locator("#ended-banner")).to_be_visible()
        await expect(console.locator("#attach")).to_be_disabled()
        at_bottom = await console.locator("#log").evaluate(
            "e => e.scrollTop + e.clientHeight >= e.scrollHeight - 2"
        )
        assert at_bottom
        await shot(console, f"console-ended-{size}")


async def test_a_request_page_explains_status_and_outcome(serve: Serve, new_page: Any) -> None:
    """An ended chat's request is open (its follow-up) with the outcome the agent recorded:
    the page says what each means."""
    async with serve() as srv:
        await make_agent(srv, "ayse", name="Ayşe")
        console = await new_page(locale="en-GB")
        await sign_in(console, srv, "ayse")
        player = await player_chat(new_page, srv)
        await console.get_by_role("button", name="Mehmet").click()
        await console.get_by_role("button", name="End chat").click()
        await console.locator("#end-confirm").click()
        await expect(console.locator("#ended-banner")).to_contain_text("Request number")
        number = (await console.locator("#ended-banner").text_content() or "").split(": ")[-1]
        await console.goto(f"{srv.http}/console/requests/{number.strip()}")
        await expect(console.get_by_text("Chat outcome")).to_be_visible()
        await expect(console.get_by_text("where its follow-up stands")).to_be_visible()
        await shot(console, "console-request-desktop")
        assert player is not None
