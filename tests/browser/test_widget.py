"""The player widget in a real browser, against a real server and a real agent socket."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import jwt
from playwright.async_api import Page, expect
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.browser.conftest import shot
from tests.browser.helpers import open_widget, say, start_chat, w
from tests.support import WS, RunningServer, agent, make_agent, serve_asgi

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def paired(page: Page, srv: RunningServer, a: WS) -> str:
    """Open the widget, fill the form, and return the chat id the agent got."""
    await open_widget(page, srv)
    await start_chat(page)
    return str((await a.expect("assigned"))["chat"])


async def test_full_chat_from_the_demo_page(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """Pre-chat, messages and typing both ways, end with confirmation, number, copy, rating."""
    async with serve() as srv:
        token = await make_agent(srv, "ayse", name="Ayşe")
        a, _ = await agent(srv, token)
        page = await new_page()
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        await open_widget(page, srv)
        await expect(w(page).locator("#cs-pre-topic")).to_be_focused()
        await shot(page, "widget-prechat-tr")
        await start_chat(page, name="Mehmet Yılmaz")
        assigned = await a.expect("assigned")
        chat = assigned["chat"]
        assert assigned["player"]["name"] == "Mehmet Yılmaz"
        await expect(w(page).get_by_text("Ayşe size yardımcı oluyor")).to_be_visible()
        await expect(w(page).get_by_text("Ayşe görüşmeye katıldı.")).to_be_visible()

        await say(page, "Param hesabıma geçmedi")
        got = await a.expect("message", chat=chat, **{"from": "player"})
        assert got["text"] == "Param hesabıma geçmedi"
        await expect(w(page).locator(".msg.player .meta")).to_contain_text("İletildi")

        await w(page).locator("textarea[placeholder]").type("Bir şey daha")
        await a.expect("typing", chat=chat, active=True)
        await w(page).locator("textarea[placeholder]").fill("")

        await a.send("typing", chat=chat, active=True)
        await expect(w(page).get_by_text("Ayşe yazıyor…")).to_be_visible()
        await a.send("message", chat=chat, id="a1", text="Hemen kontrol ediyorum")
        await expect(w(page).get_by_text("Hemen kontrol ediyorum")).to_be_visible()
        await expect(w(page).get_by_text("Ayşe yazıyor…")).to_be_hidden()
        await shot(page, "widget-chat-tr")

        await w(page).get_by_role("button", name="Görüşmeyi sonlandır").click()
        dialog = w(page).get_by_role("alertdialog")
        await expect(dialog).to_contain_text("Görüşmeyi sonlandırmak istiyor musunuz?")
        await expect(w(page).get_by_role("button", name="Hayır, geri dön")).to_be_focused()
        await w(page).get_by_role("button", name="Evet, sonlandır").click()
        ended = await a.expect("ended", chat=chat)
        number = ended["request_number"]
        await expect(w(page).locator(".number")).to_have_text(number)
        await w(page).get_by_role("button", name="Kopyala").click()
        await expect(w(page).get_by_role("button", name="Kopyalandı")).to_be_visible()
        assert await page.evaluate("navigator.clipboard.readText()") == number
        await shot(page, "widget-ended-tr")

        await w(page).get_by_label("Evet", exact=True).check()
        await w(page).get_by_label("5 üzerinden 4").check()
        await w(page).get_by_label("10 üzerinden 9", exact=True).check()
        await w(page).locator("#cs-comment").fill("Hızlı yardım, teşekkürler")
        await w(page).get_by_role("button", name="Değerlendirmeyi gönder").click()
        await expect(w(page).get_by_text("Değerlendirmeniz için teşekkür ederiz.")).to_be_visible()
        async with httpx.AsyncClient(base_url=srv.http) as http:
            body = (
                await http.get(
                    f"/api/requests/{number}", headers={"Authorization": f"Bearer {token}"}
                )
            ).json()
        assert body["satisfaction"] == {
            "resolved": True,
            "rating": 4,
            "comment": "Hızlı yardım, teşekkürler",
            "nps": 9,
        }
        await w(page).get_by_role("button", name="Yeni görüşme başlat").click()
        await expect(w(page).locator("#cs-pre-name")).to_be_visible()


async def test_reload_mid_chat_resumes_with_nothing_lost_or_doubled(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """A page reload reconnects to the same chat; every message shows exactly once."""
    async with serve() as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse", name="Ayşe"))
        page = await new_page()
        chat = await paired(page, srv, a)
        await say(page, "birinci")
        await a.expect("message", chat=chat, **{"from": "player"})
        await a.send("message", chat=chat, id="a1", text="ikinci")
        await expect(w(page).get_by_text("ikinci")).to_be_visible()

        await page.reload()
        # the agent writes while the page is away
        await a.send("message", chat=chat, id="a2", text="üçüncü")
        await a.expect("ack", id="a2")
        await page.wait_for_function("window.ChatWidget && ChatWidget.state === 'active'")
        for text in ("birinci", "ikinci", "üçüncü"):
            await expect(w(page).locator(".msg .text", has_text=text)).to_have_count(1)
        await expect(w(page).locator("#cs-panel")).to_be_visible()  # it stays open across reloads

        # and the chat goes on, once
        await say(page, "dördüncü")
        assert (await a.expect("message", chat=chat, **{"from": "player"}))["text"] == "dördüncü"
        await a.send("message", chat=chat, id="a3", text="beşinci")
        await expect(w(page).locator(".msg .text", has_text="beşinci")).to_have_count(1)
        seqs = (
            await w(page)
            .locator(".msg[data-seq]")
            .evaluate_all("els => els.map(e => Number(e.dataset.seq))")
        )
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs))


async def test_a_second_tab_continues_the_same_chat(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """Another tab of the same site shows the same conversation."""
    async with serve() as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse", name="Ayşe"))
        page = await new_page()
        chat = await paired(page, srv, a)
        await say(page, "ilk sekmeden")
        await a.expect("message", chat=chat, **{"from": "player"})
        tab = await page.context.new_page()
        await tab.goto(f"{srv.http}/")
        await tab.wait_for_function("window.ChatWidget && ChatWidget.state === 'active'")
        await tab.evaluate("ChatWidget.open()")  # it opens by itself: it was open in the first tab
        await expect(w(tab).get_by_text("ilk sekmeden")).to_be_visible()
        await a.send("message", chat=chat, id="both", text="iki sekmeye birden")
        await expect(w(page).get_by_text("iki sekmeye birden")).to_be_visible()
        await expect(w(tab).get_by_text("iki sekmeye birden")).to_be_visible()


async def test_age_gate_and_validation_errors_in_english(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """The server's refusals appear next to the right field, in the player's language."""
    async with serve() as srv:
        await agent(srv, await make_agent(srv, "ayse"))
        page = await new_page(locale="en-GB")
        await open_widget(page, srv, lang="en")
        await expect(w(page).get_by_role("heading", name="Live support")).to_be_visible()
        await w(page).locator("#cs-pre-name").fill("Mehmet")
        await w(page).locator("#cs-pre-topic").select_option("bonus")
        await w(page).get_by_role("button", name="Start chat").click()
        age_error = w(page).locator("#cs-pre-age-err")
        await expect(age_error).to_have_text("You must be 18 or older to use live support.")
        await expect(w(page).locator("#cs-pre-age")).to_have_attribute("aria-invalid", "true")
        await shot(page, "widget-age-gate-en")

        await w(page).locator("#cs-pre-age").check()
        await w(page).locator("#cs-pre-email").fill("not-an-address")
        await w(page).get_by_role("button", name="Start chat").click()
        await expect(w(page).locator("#cs-pre-email-err")).to_have_text(
            "This e-mail address does not look right."
        )
        await expect(age_error).to_be_hidden()

        await w(page).locator("#cs-pre-email").fill("")
        await w(page).locator("#cs-pre-name").fill("")
        await w(page).get_by_role("button", name="Start chat").click()
        await expect(w(page).locator("#cs-pre-name-err")).to_have_text(
            "Give your name and e-mail address."
        )

        # a members-only topic asks for the account's details, and says why
        await w(page).locator("#cs-pre-name").fill("Mehmet")
        await w(page).locator("#cs-pre-email").fill("m@example.com")
        await w(page).locator("#cs-pre-topic").select_option("payments")
        await expect(w(page).locator("#cs-pre-hint")).to_be_visible()
        await w(page).get_by_role("button", name="Start chat").click()
        await expect(w(page).locator("#cs-pre-username-err")).to_contain_text(
            "This topic is for members"
        )


async def test_offline_form_leaves_a_message_and_shows_the_number(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """With nobody online the widget offers the offline form; it still yields a request number."""
    async with serve() as srv:
        page = await new_page()
        await open_widget(page, srv)
        await expect(w(page).get_by_text("Şu anda çevrimiçi temsilci yok")).to_be_visible()
        await w(page).locator("#cs-off-name").fill("Mehmet")
        await w(page).locator("#cs-off-email").fill("mehmet@example.com")
        await w(page).locator("#cs-off-topic").select_option("payments")
        await w(page).locator("#cs-off-text").fill("Çekim talebim 3 gündür onay bekliyor.")
        await w(page).locator("#cs-off-age").check()
        await shot(page, "widget-offline-tr")
        await w(page).get_by_role("button", name="Mesaj bırak").click()
        await expect(w(page).get_by_text("Mesajınızı aldık")).to_be_visible()
        number = (await w(page).locator(".number").text_content()) or ""
        assert len(number) == 11
        await expect(w(page).get_by_text("Sorununuz çözüldü mü?")).to_be_hidden()
        rec = await srv.hub.store.request(number.replace("-", ""))
        assert rec is not None and rec.chat.email == "mehmet@example.com"
        assert rec.messages[0].text == "Çekim talebim 3 gündür onay bekliyor."

        # an agent coming online turns the form into the pre-chat form, live
        await w(page).get_by_role("button", name="Yeni görüşme başlat").click()
        await expect(w(page).locator("#cs-off-email")).to_be_visible()
        await agent(srv, await make_agent(srv, "ayse"))
        await expect(w(page).locator("#cs-pre-name")).to_be_visible()


async def test_hostile_text_is_shown_as_text(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """Markup in messages is never interpreted; only http(s) links become links."""
    async with serve() as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        page = await new_page()
        chat = await paired(page, srv, a)
        hostile = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
        await a.send("message", chat=chat, id="x1", text=hostile)
        await a.send(
            "message",
            chat=chat,
            id="x2",
            text="javascript:window.pwned=3 and https://example.com/ok",
        )
        await expect(w(page).get_by_text(hostile)).to_be_visible()
        await expect(w(page).get_by_text("javascript:window.pwned=3", exact=False)).to_be_visible()
        assert await page.locator("#chatserver-widget img, #chatserver-widget script").count() == 0
        links = w(page).locator(".msg a")
        await expect(links).to_have_count(1)
        await expect(links).to_have_attribute("href", "https://example.com/ok")
        await expect(links).to_have_attribute("rel", "noopener noreferrer nofollow")
        assert await page.evaluate("window.pwned === undefined")
        # the player's own hostile text is also text
        await say(page, "<b>bold?</b>")
        await expect(w(page).get_by_text("<b>bold?</b>")).to_be_visible()


async def test_keyboard_only_and_screen_reader_support(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """The launcher is reachable by Tab, Escape closes, new messages go to a live region."""
    async with serve() as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        page = await new_page()
        await page.goto(f"{srv.http}/")
        await page.wait_for_function("window.ChatWidget !== undefined")
        launcher = w(page).locator(".launcher")
        await launcher.focus()
        await page.keyboard.press("Enter")
        await expect(w(page).locator("#cs-pre-topic")).to_be_focused()
        await expect(launcher).to_have_attribute("aria-expanded", "true")
        await page.keyboard.press("ArrowDown")  # the topic first: the fields follow its rules
        await page.keyboard.press("Tab")  # name
        await page.keyboard.type("Mehmet")
        await page.keyboard.press("Tab")  # e-mail
        await page.keyboard.type("m@example.com")
        await page.keyboard.press("Tab")  # username (members' topics need it)
        await page.keyboard.press("Tab")  # phone (optional: for text messages)
        await page.keyboard.press("Tab")  # the question (optional: articles are suggested for it)
        await page.keyboard.press("Tab")  # 18+
        await page.keyboard.press("Space")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        chat = (await a.expect("assigned"))["chat"]
        await expect(w(page).get_by_role("textbox", name="Mesajınızı yazın…")).to_be_focused()
        log = w(page).get_by_role("log")
        await expect(log).to_have_attribute("aria-live", "polite")
        await a.send("message", chat=chat, id="a1", text="Size nasıl yardımcı olabilirim?")
        await expect(log).to_contain_text("Size nasıl yardımcı olabilirim?")
        await page.keyboard.press("Escape")
        await expect(w(page).locator("#cs-panel")).to_be_hidden()
        await expect(launcher).to_be_focused()


async def test_unread_badge_and_phone_width(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """Messages that arrive while closed are counted; the window fits a 360 px phone."""
    async with serve() as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        page = await new_page(width=360, height=640)
        chat = await paired(page, srv, a)
        box = await w(page).locator("#cs-panel").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
        assert box["height"] <= 640
        await shot(page, "widget-phone-360")
        await w(page).get_by_role("button", name="Kapat", exact=True).click()
        await a.send("message", chat=chat, id="u1", text="bir")
        await a.send("message", chat=chat, id="u2", text="iki")
        await expect(w(page).locator(".badge")).to_have_text("2")
        await expect(w(page).locator(".launcher")).to_have_attribute(
            "aria-label", "Canlı desteği aç, 2 okunmamış mesaj"
        )
        await w(page).locator(".launcher").click()
        await expect(w(page).locator(".badge")).to_be_hidden()


async def test_cross_origin_embedding_with_browser_language(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """On another site (an allowed origin) the widget works, in the browser's language."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    host_port = probe.getsockname()[1]
    probe.close()
    async with serve(allowed_origins=(f"http://127.0.0.1:{host_port}",)) as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse"))

        async def home(request):  # type: ignore[no-untyped-def]
            return HTMLResponse(
                "<!doctype html><html lang=en><body><h1>Casino</h1>"
                f'<script src="{srv.http}/widget.js" async></script></body></html>'
            )

        site = Starlette(routes=[Route("/", home)])
        async with serve_asgi(site, port=host_port):
            page = await new_page(locale="en-US")
            await page.goto(f"http://127.0.0.1:{host_port}/")
            await page.wait_for_function("window.ChatWidget !== undefined")
            await w(page).locator(".launcher").click()
            await expect(w(page).get_by_role("heading", name="Live support")).to_be_visible()
            await expect(w(page).locator("#cs-pre-topic option[value=payments]")).to_have_text(
                "Deposits and withdrawals (members)"
            )
            await start_chat(page)
            chat = (await a.expect("assigned"))["chat"]
            await a.send("message", chat=chat, id="a1", text="Hello from support")
            await expect(w(page).get_by_text("Hello from support")).to_be_visible()
            await shot(page, "widget-cross-origin-en")


async def test_queue_position_and_wait_update_live(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """A waiting player sees their place and estimate; leaving the queue asks first."""
    async with serve() as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse", max_chats=1))
        first = await new_page()
        chat1 = await paired(first, srv, a)
        second = await new_page()
        await open_widget(second, srv)
        await start_chat(second, name="İkinci")
        await expect(w(second).get_by_text("Sıradaki yeriniz: 1.")).to_be_visible()
        await expect(w(second).get_by_text("Tahmini bekleme süresi:")).to_be_visible()
        await shot(second, "widget-queue-tr")
        third = await new_page()
        await open_widget(third, srv)
        await start_chat(third, name="Üçüncü")
        await expect(w(third).get_by_text("Sıradaki yeriniz: 2.")).to_be_visible()

        # the second player leaves the queue: the third moves up, live
        await w(second).get_by_role("button", name="Sıradan çık").click()
        await expect(w(second).get_by_role("alertdialog")).to_contain_text("Sıradan çıkmak")
        await w(second).get_by_role("button", name="Evet, sonlandır").click()
        await expect(w(second).locator(".number")).to_have_text(re.compile(r"^\w{5}-\w{5}$"))
        await expect(w(third).get_by_text("Sıradaki yeriniz: 1.")).to_be_visible()

        await a.send("end", chat=chat1)
        await expect(w(third).get_by_text("Ayse size yardımcı oluyor")).to_be_visible()


async def test_refused_message_can_be_retried(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """A message the server refuses is marked as not sent, with a retry button."""
    async with serve(max_message_chars=20) as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        page = await new_page()
        await paired(page, srv, a)
        await say(page, "x" * 30)
        failed = w(page).locator(".msg.failed")
        await expect(failed).to_contain_text("Gönderilemedi")
        await expect(failed.get_by_role("button", name="Tekrar dene")).to_be_visible()
        await failed.get_by_role("button", name="Tekrar dene").click()
        await expect(w(page).locator(".msg.failed")).to_have_count(1)  # refused again, once


async def test_reconnects_by_itself_when_the_server_drops_it(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """A dropped socket is reopened with backoff; what was said meanwhile appears once."""
    async with serve() as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        page = await new_page()
        chat = await paired(page, srv, a)
        players = [c for c in srv.hub.conns if c.kind == "player"]
        assert len(players) == 1
        await page.evaluate(
            "window.drops = 0; window.back = 0; addEventListener('chat:connection',"
            " e => e.detail.online ? window.back++ : window.drops++)"
        )
        players[0].close(1012, "restarting")
        await page.wait_for_function("window.drops === 1")
        await a.send("message", chat=chat, id="gap", text="while you were away")
        await a.expect("ack", id="gap")
        await expect(w(page).locator(".msg .text", has_text="while you were away")).to_have_count(1)
        await page.wait_for_function("window.back === 1")
        await say(page, "back")
        assert (await a.expect("message", chat=chat, **{"from": "player"}))["text"] == "back"


async def test_a_signed_in_member_reaches_a_members_only_topic(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """The site hands the widget the member's signed identity; the agent sees them verified."""
    secret = "platform-secret-" + "y" * 48
    async with serve(identity_secret=secret) as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse", departments=("finance",)))
        claims = {"sub": "m-9", "username": "mehmet42", "email": "m@x.io", "exp": time.time() + 300}
        token = jwt.encode(claims, secret, algorithm="HS256")
        page = await new_page()
        await page.goto(f"{srv.http}/")
        await page.wait_for_function("window.ChatWidget !== undefined")
        await page.evaluate("t => ChatWidget.identify(t)", token)
        await w(page).locator(".launcher").click()
        await w(page).locator("#cs-pre-name").fill("Mehmet")
        await w(page).locator("#cs-pre-topic").select_option("payments")
        await expect(w(page).locator("#cs-pre-hint")).to_be_hidden()  # the site vouched
        await w(page).locator("#cs-pre-age").check()
        await w(page).locator("#cs-pre-name").press("Enter")
        card = (await a.expect("assigned"))["player"]
        assert (card["verified_by"], card["member_id"], card["username"]) == (
            "token",
            "m-9",
            "mehmet42",
        )
        await expect(w(page).get_by_text("Ayse size yardımcı oluyor")).to_be_visible()


async def test_the_widget_reconnects_when_the_server_falls_silent(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """Pings every 0.4 s; when they stop (a dead network says nothing), the widget gives up
    on the socket after two and a half intervals and resumes its chat on a new one."""
    async with serve(ping_seconds=0.4) as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        page = await new_page()
        chat = await paired(page, srv, a)
        (first,) = [c for c in srv.hub.conns if c.kind == "player"]
        srv.hub.heartbeats.stop()  # the server says nothing more
        deadline = time.monotonic() + 10
        while first in srv.hub.conns or not any(c.session for c in srv.hub.conns):
            assert time.monotonic() < deadline, "the widget kept a silent socket"
            await asyncio.sleep(0.02)
        (second,) = [c for c in srv.hub.conns if c.kind == "player"]
        assert second.session is first.session  # resumed: the same session
        await a.send("message", chat=chat, id="a1", text="Hâlâ buradayız")
        await expect(w(page).get_by_text("Hâlâ buradayız")).to_be_visible()
