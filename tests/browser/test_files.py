"""Files and transcripts in a real browser: widget and console."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from PIL import Image
from playwright.async_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import open_widget, say, start_chat, w
from tests.support import Mailbox, RunningServer, agent, make_agent

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (120, 90), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


async def test_player_attaches_an_image_and_the_agent_a_document(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """The widget uploads with a progress bar and shows thumbnails; the console does too."""
    async with serve() as srv:
        await make_agent(srv, "ayse")
        console = await new_page(locale="en-GB")
        await console.goto(f"{srv.http}/console")
        await console.get_by_label("Username").fill("ayse")
        await console.get_by_label("Password").fill("correct horse battery")
        await console.get_by_role("button", name="Sign in").click()
        await console.wait_for_url(f"{srv.http}/console")
        page = await new_page()
        await open_widget(page, srv)
        await start_chat(page)
        await expect(console.get_by_role("button", name="Mehmet")).to_be_visible()

        await (
            w(page)
            .locator("#cs-file")
            .set_input_files({"name": "dekont.png", "mimeType": "image/png", "buffer": png()})
        )
        thumb = w(page).locator(".msg.player .file img")
        await expect(thumb).to_have_attribute("src", re.compile(r"^blob:"))
        await expect(console.locator(".msg.player img.thumb")).to_be_visible()
        download_link = console.locator(".msg.player a", has_text="Download dekont.png")
        await expect(download_link).to_be_visible()
        await shot(page, "widget-file")

        await console.locator("#file").set_input_files(
            {"name": "kurallar.txt", "mimeType": "text/plain", "buffer": "Bonus kuralları".encode()}
        )
        await expect(
            w(page).get_by_role("button", name="kurallar.txt dosyasını indir (16 B)")
        ).to_be_visible()
        await shot(console, "console-file")

        # a renamed program is refused, in the player's language, with a retry
        await (
            w(page)
            .locator("#cs-file")
            .set_input_files(
                {
                    "name": "foto.png",
                    "mimeType": "image/png",
                    "buffer": b"MZ\x90\x00" + b"\x00" * 200,
                }
            )
        )
        await expect(w(page).locator(".msg.failed")).to_contain_text("Bu tür dosyalar gönderilemez")


async def test_the_end_screen_e_mails_the_transcript(
    serve: Serve, mailbox: Mailbox, new_page
) -> None:  # type: ignore[no-untyped-def]
    """One button sends the transcript and the request number to the player's address."""
    async with serve(**mailbox.settings()) as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        page = await new_page()
        await open_widget(page, srv)
        await start_chat(page, email="mehmet@example.com")
        chat = (await a.expect("assigned"))["chat"]
        await say(page, "kayıt lütfen")
        await a.expect("message", chat=chat, **{"from": "player"})
        await a.send("end", chat=chat)
        number = (await a.expect("ended", chat=chat))["request_number"]
        await w(page).get_by_role("button", name="Görüşme kaydını e-postama gönder").click()
        await expect(w(page).get_by_text("mehmet@example.com adresine gönderildi.")).to_be_visible()
        to, mail = await mailbox.next()
        assert to == ["mehmet@example.com"] and number in mail["Subject"]
        assert "kayıt lütfen" in mail.get_body(("plain",)).get_content()
