"""The agent console in a real browser: sign-in, working chats from the widget, supervision."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from playwright.async_api import Page, expect

from tests.browser.conftest import shot
from tests.browser.helpers import open_widget, say, start_chat, w
from tests.support import RunningServer, make_agent

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
PASSWORD = "correct horse battery"


async def sign_in(page: Page, srv: RunningServer, username: str) -> None:
    await page.goto(f"{srv.http}/console")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{srv.http}/console")
    await expect(page.locator("#status")).to_have_value("online")


async def player_chat(new_page, srv: RunningServer, name: str = "Mehmet") -> Page:  # type: ignore[no-untyped-def]
    player = await new_page()
    await open_widget(player, srv)
    await start_chat(player, name=name)
    return player


async def test_a_widget_chat_is_picked_up_and_answered_in_the_console(
    serve: Serve, new_page
) -> None:  # type: ignore[no-untyped-def]
    """Sign in, get the chat, see the player card, read hostile text as text, reply, end."""
    async with serve() as srv:
        await make_agent(srv, "ayse", name="Ayşe")
        console = await new_page(locale="en-GB")
        await sign_in(console, srv, "ayse")
        player = await player_chat(new_page, srv)
        await expect(console.get_by_role("button", name="Mehmet")).to_be_visible()
        card = console.get_by_role("complementary", name="Player")
        await expect(card).to_contain_text("Technical problem")
        await expect(card).to_contain_text("guest, not verified")

        hostile = '<img src=x onerror="window.pwned=1"> çekimim nerede?'
        await say(player, hostile)
        await expect(console.get_by_text(hostile)).to_be_visible()
        assert await console.locator(".log img").count() == 0
        assert await console.evaluate("window.pwned === undefined")

        await console.get_by_role("textbox", name="Message").fill("Hemen bakıyorum")
        await console.get_by_role("textbox", name="Message").press("Enter")
        await expect(w(player).get_by_text("Hemen bakıyorum")).to_be_visible()
        await expect(console.locator(".msg.agent .meta")).to_contain_text("delivered")
        await expect(console.get_by_text("Mehmet is typing…")).to_be_hidden()
        await w(player).locator("textarea[placeholder]").type("yaz")
        await expect(console.get_by_text("Mehmet is typing…")).to_be_visible()
        await shot(console, "console-workspace")

        # end with a resolution: both sides show the same request number
        await console.keyboard.press("Alt+e")
        await console.get_by_label("Resolution").select_option("resolved")
        await console.get_by_label("Note for the request (internal)").fill("explained the delay")
        await console.get_by_role("button", name="End chat", exact=True).last.click()
        banner = console.locator("#ended-banner")
        await expect(banner).to_contain_text("Request number:")
        number = ((await banner.text_content()) or "").rsplit(" ", 1)[-1]
        await expect(w(player).locator(".number")).to_have_text(number)
        rec = await srv.hub.store.request(number.replace("-", ""))
        assert rec is not None and rec.resolution_note == "explained the delay"
        await shot(console, "console-ended")


async def test_canned_responses_by_slash(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """Typing / lists canned responses; Enter inserts the chosen one."""
    async with serve() as srv:
        await make_agent(srv, "ayse")
        await srv.hub.store.save_canned(
            None, "withdraw", "Withdrawal times", "Çekimler 24 saat içinde.", time.time()
        )
        await srv.hub.store.save_canned(
            None, "hello", "Greeting", "Merhaba, hoş geldiniz!", time.time()
        )
        console = await new_page(locale="en-GB")
        await sign_in(console, srv, "ayse")
        player = await player_chat(new_page, srv)
        await expect(console.get_by_role("button", name="Mehmet")).to_be_visible()
        box = console.get_by_role("textbox", name="Message")
        await box.fill("/")
        options = console.get_by_role("listbox", name="Canned responses").get_by_role("option")
        await expect(options).to_have_count(2)
        await box.fill("/with")
        await expect(options).to_have_count(1)
        await box.press("Enter")
        await expect(box).to_have_value("Çekimler 24 saat içinde.")
        await box.press("Enter")
        await expect(w(player).get_by_text("Çekimler 24 saat içinde.")).to_be_visible()


async def test_internal_notes_stay_in_the_console(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """A note is shown to the agent, marked internal, and never reaches the widget."""
    async with serve() as srv:
        await make_agent(srv, "ayse")
        console = await new_page(locale="en-GB")
        await sign_in(console, srv, "ayse")
        player = await player_chat(new_page, srv)
        await expect(console.get_by_role("button", name="Mehmet")).to_be_visible()
        await console.keyboard.press("Alt+i")
        await expect(
            console.get_by_label("Internal note (Alt+I): the player never sees it")
        ).to_be_checked()
        await console.get_by_role("textbox", name="Message").fill("VIP oyuncu, öncelik ver")
        await console.get_by_role("textbox", name="Message").press("Enter")
        note = console.locator(".msg.note")
        await expect(note).to_contain_text("VIP oyuncu, öncelik ver")
        await expect(note).to_contain_text("Internal note")
        await console.keyboard.press("Alt+i")
        await console.get_by_role("textbox", name="Message").fill("Merhaba!")
        await console.get_by_role("textbox", name="Message").press("Enter")
        await expect(w(player).get_by_text("Merhaba!", exact=True)).to_be_visible()
        # the later message arrived; the note, sent before it, never did
        await expect(w(player).get_by_text("VIP oyuncu")).to_have_count(0)


async def test_transfer_between_two_agents(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """Agent A hands the chat to agent B, who continues it with the history."""
    async with serve() as srv:
        await make_agent(srv, "ayse", name="Ayşe")
        await make_agent(srv, "ali", name="Ali")
        first = await new_page(locale="en-GB")
        await sign_in(first, srv, "ayse")
        player = await player_chat(new_page, srv)
        await expect(first.get_by_role("button", name="Mehmet")).to_be_visible()
        await say(player, "Para çekme sorunu")
        await expect(first.get_by_text("Para çekme sorunu")).to_be_visible()
        second = await new_page(locale="en-GB")
        await sign_in(second, srv, "ali")

        await first.keyboard.press("Alt+t")
        await first.get_by_label("To").select_option(label="Ali (0/3)")
        await first.get_by_role("button", name="Transfer", exact=True).last.click()
        await expect(first.locator("#ended-banner")).to_have_text("You transferred this chat.")
        await expect(second.get_by_text("Para çekme sorunu")).to_be_visible()
        await expect(
            w(player).get_by_text("Görüşmeniz Ali adlı temsilciye aktarıldı.")
        ).to_be_visible()
        await expect(w(player).get_by_text("Ali size yardımcı oluyor")).to_be_visible()
        await second.get_by_role("textbox", name="Message").fill("Ben Ali, devam edelim")
        await second.get_by_role("textbox", name="Message").press("Enter")
        await expect(w(player).get_by_text("Ben Ali, devam edelim")).to_be_visible()
        await shot(second, "console-after-transfer")


async def test_keyboard_moves_between_chats_and_reload_resumes(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """Alt+Down/Up switch chats; a reload brings every open chat back."""
    async with serve() as srv:
        await make_agent(srv, "ayse")
        console = await new_page(locale="en-GB")
        await sign_in(console, srv, "ayse")
        one = await player_chat(new_page, srv, name="Birinci")
        two = await player_chat(new_page, srv, name="İkinci")
        await expect(console.locator(".chatlist li")).to_have_count(2)
        await expect(console.locator("#chat-title")).to_contain_text("Birinci")
        await console.keyboard.press("Alt+ArrowDown")
        await expect(console.locator("#chat-title")).to_contain_text("İkinci")
        await say(one, "birinciden mesaj")
        await expect(
            console.get_by_role("button", name="Birinci 1 unread").or_(
                console.locator(".chatlist .unread")
            )
        ).to_be_visible()
        await console.keyboard.press("Alt+ArrowUp")
        await expect(console.get_by_text("birinciden mesaj")).to_be_visible()
        await console.reload()
        await expect(console.locator(".chatlist li")).to_have_count(2)
        await expect(console.get_by_text("birinciden mesaj")).to_be_visible()
        await say(two, "ikinciden")
        await console.keyboard.press("Alt+ArrowDown")
        await expect(console.get_by_text("ikinciden")).to_have_count(1)


async def test_csrf_and_throttling_are_enforced_in_the_browser(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """A tampered form is refused; repeated wrong passwords lock the account."""
    async with serve() as srv:
        await make_agent(srv, "ayse")
        page = await new_page(locale="en-GB")
        await page.goto(f"{srv.http}/console/login")
        await page.evaluate("document.querySelector('input[name=csrf]').value = 'forged'")
        await page.get_by_label("Username").fill("ayse")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text("the form expired")
        for _ in range(5):
            await page.get_by_label("Password").fill("wrong password")
            await page.get_by_role("button", name="Sign in").click()
            await expect(page.get_by_role("alert")).to_be_visible()
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_contain_text("too many failed sign-ins")
        assert "/console/login" in page.url


async def test_supervisor_watches_the_floor_and_monitors_a_chat(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """The floor shows agents and chats live; monitoring is read-only and live."""
    async with serve() as srv:
        await make_agent(srv, "ayse")
        await make_agent(srv, "selin", role="supervisor")
        agent_page = await new_page(locale="en-GB")
        await sign_in(agent_page, srv, "ayse")
        player = await player_chat(new_page, srv)
        await expect(agent_page.get_by_role("button", name="Mehmet")).to_be_visible()
        sup = await new_page(locale="en-GB")
        await sign_in(sup, srv, "selin")
        await sup.get_by_role("link", name="Floor").click()
        await expect(sup.locator(".tile", has_text="Active chats")).to_contain_text("1")
        await expect(sup.locator("#agents")).to_contain_text("Ayse")
        await sup.get_by_role("button", name="Monitor").click()
        await expect(sup.locator("#monitor")).to_contain_text("read-only")
        await say(player, "izleniyor muyum?")
        await expect(sup.locator("#monitor-log")).to_contain_text("izleniyor muyum?")
        await shot(sup, "console-floor")


async def test_widget_and_console_answer_the_servers_pings(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """With the server pinging every 0.3 s and closing what is silent for 1.5 s, both
    pages keep the sockets they opened (answering each ping) three idle timeouts long."""
    async with serve(idle_timeout_seconds=1.5, ping_seconds=0.3) as srv:
        await make_agent(srv, "ayse", name="Ayşe")
        console = await new_page(locale="en-GB")
        await sign_in(console, srv, "ayse")
        player = await player_chat(new_page, srv)
        await expect(console.get_by_role("button", name="Mehmet")).to_be_visible()
        sockets = set(srv.hub.conns)
        assert {c.kind for c in sockets} == {"player", "agent"}
        assert len(srv.hub.heartbeats) == len(sockets)
        heard = {c: c.last_recv for c in sockets}
        until = time.monotonic() + 3 * 1.5
        while time.monotonic() < until:
            assert set(srv.hub.conns) == sockets, "a page's socket was closed or replaced"
            await asyncio.sleep(0.05)
        assert all(c.last_recv > heard[c] for c in sockets)  # their pongs
        await say(player, "hâlâ buradayım")
        await expect(console.get_by_text("hâlâ buradayım")).to_be_visible()
