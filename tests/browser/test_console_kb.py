"""The knowledge base in the console: suggestions for the player's message, the editor, and
the help centre it publishes to."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from playwright.async_api import expect

from chatserver.kb.articles import Article
from tests.browser.conftest import shot
from tests.browser.helpers import say, w
from tests.browser.test_console import player_chat, sign_in
from tests.support import RunningServer, load_sample_kb, make_agent

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def test_suggested_articles_for_the_players_message(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """The card suggests articles for the player's latest message; "Insert link" puts the
    article's link in the reply; a canned response's [kb:id] becomes the article's link."""
    async with serve() as srv:
        await load_sample_kb(srv)
        await srv.hub.store.save_canned(
            None, "kyc", "KYC", "Belgeler için: [kb:kimlik-dogrulama]", 0.0
        )
        await make_agent(srv, "ayse", name="Ayşe")
        console = await new_page(locale="en-GB")
        await sign_in(console, srv, "ayse")
        player = await player_chat(new_page, srv)
        await expect(console.get_by_role("button", name="Mehmet")).to_be_visible()
        await say(player, "bonusumu iptal etmek istiyorum")
        suggestions = console.locator("#kb-suggest")
        await expect(suggestions.locator("a").first).to_have_text(
            "Aktif bonusumu iptal etmek istiyorum"
        )
        await suggestions.get_by_role("button", name="Insert link").first.click()
        box = console.get_by_role("textbox", name="Message")
        await expect(box).to_have_value(
            f"Aktif bonusumu iptal etmek istiyorum: {srv.http}/help/bonus-iptal"
        )
        await shot(console, "console-kb-suggestions")
        await box.press("Enter")
        await expect(
            w(player).get_by_role("link", name=f"{srv.http}/help/bonus-iptal")
        ).to_be_visible()

        await box.fill("/kyc")
        await box.press("Enter")  # picks the canned response
        title = "Hesap doğrulama (KYC) için hangi belgeler gerekli?"
        await expect(box).to_have_value(f"Belgeler için: {title}: {srv.http}/help/kimlik-dogrulama")


async def test_an_editor_writes_an_article_that_players_find(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """A knowledge-base editor (not an admin) adds an article in the console; it is on the
    help centre at once, found by a search typed without diacritics, and rendered safely."""
    async with serve() as srv:
        await make_agent(srv, "editor", name="Editör")
        editor = await srv.hub.store.agent_by_username("editor")
        assert editor is not None
        await srv.hub.store.update_agent(editor.id, kb_editor=True)
        await make_agent(srv, "plain", name="Plain")
        page = await new_page(locale="en-GB")
        await sign_in(page, srv, "editor")
        await page.get_by_role("link", name="Knowledge base").click()
        await page.get_by_role("link", name="New article").click()
        await page.get_by_label("Id").fill("kripto-cekim")
        await page.get_by_label("Title").fill("Kripto ile para çekme")
        await page.get_by_label("Article language").select_option("tr")
        await page.get_by_label("Topic").select_option("payments")
        await page.get_by_label("Tags").fill("kripto, usdt, çekim")
        await page.get_by_label("Text (Markdown)").fill(
            "USDT çekimleri **10 dakikada** cüzdanınıza geçer.\n\n<script>alert(1)</script>"
        )
        await page.get_by_label("Published").check()
        await page.get_by_role("button", name="Save").click()
        await expect(page.get_by_text("Saved.")).to_be_visible()
        await expect(page.locator(".article-body strong")).to_have_text("10 dakikada")
        await shot(page, "console-kb-editor")

        public = await new_page(locale="tr-TR")
        await public.goto(f"{srv.http}/help?lang=tr&q=kripto+cekimi")
        await public.get_by_role("link", name="Kripto ile para çekme").click()
        await expect(public.locator("h1")).to_have_text("Kripto ile para çekme")
        assert await public.locator(".article-body script").count() == 0
        await expect(public.locator(".article-body")).to_contain_text("<script>alert(1)</script>")
        await public.get_by_role("button", name="Evet").click()
        await expect(public.get_by_text("Yanıtınız için teşekkürler.")).to_be_visible()
        await shot(public, "help-article-tr")
        article = await srv.hub.store.kb_article("kripto-cekim")
        assert isinstance(article, Article) and article.helpful == 1

        # an agent who is not an editor cannot open the editor
        other = await new_page(locale="en-GB")
        await sign_in(other, srv, "plain")
        response = await other.goto(f"{srv.http}/console/kb/new")
        assert response is not None and response.status == 403
