"""Answers before an agent in the widget: suggested articles for the player's question."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from playwright.async_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import open_widget, say, w
from tests.support import RunningServer, agent, load_sample_kb, make_agent

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def test_a_question_answered_by_a_suggestion(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    """Turkish, typed without diacritics: the right article is suggested, opened, and answers
    the question; no chat starts, and the outcome is counted as self-served."""
    async with serve() as srv:
        await load_sample_kb(srv)
        a, _ = await agent(srv, await make_agent(srv, "ayse", name="Ayşe"))
        page = await new_page()
        await open_widget(page, srv, "tr")
        help_link = w(page).get_by_role("link", name="Yardım merkezine göz atın")
        assert await help_link.get_attribute("href") == f"{srv.http}/help?lang=tr"
        await w(page).locator("#cs-pre-topic").select_option("payments")
        await w(page).locator("#cs-pre-question").fill("cekimim ne zaman hesabima gecer")
        await w(page).get_by_role("button", name="Görüşmeyi başlat").click()
        first = w(page).locator(".suggestions > li").first
        await expect(first).to_contain_text("Para çekme talebim ne zaman hesabıma geçer?")
        assert await w(page).locator(".suggestions > li").count() <= 3
        await first.get_by_role(
            "button", name="Para çekme talebim ne zaman hesabıma geçer?"
        ).click()
        await expect(first.locator(".article strong").first).to_have_text("15 dakika")
        await shot(page, "widget-kb-suggestions-tr")
        async with page.expect_response(lambda r: "/api/kb/outcome" in r.url) as answer:
            await first.get_by_role("button", name="Bu, sorumu yanıtladı").click()
        assert (await answer.value).status == 204
        await expect(w(page).get_by_text("Yardımcı olabildiğimize sevindik.")).to_be_visible()

        kb = srv.app.state.kb
        assert kb.outcomes[("payments", "self_served")] == 1
        stats = await srv.hub.store.kb_stats(0)
        assert stats.outcomes == {"payments": {"self_served": 1}}
        article = await srv.hub.store.kb_article("cekim-suresi")
        assert article is not None and article.helpful == 1
        assert len(srv.hub.router) == 0 and not srv.hub.chats  # no chat started
        await a.close()


async def test_still_need_an_agent_the_question_is_the_first_message(
    serve: Serve,
    new_page,  # type: ignore[no-untyped-def]
) -> None:
    """English: "I still need an agent" queues the chat with the question as its first
    message; while waiting, the player's next message brings new suggestions."""
    async with serve(queue_without_agents=True) as srv:
        await load_sample_kb(srv)
        a, _ = await agent(srv, await make_agent(srv, "ayse", name="Ayşe"))
        page = await new_page(locale="en-GB")
        await open_widget(page, srv, "en")
        await w(page).locator("#cs-pre-name").fill("John")
        await w(page).locator("#cs-pre-email").fill("john@example.com")
        await w(page).locator("#cs-pre-topic").select_option("bonus")
        await w(page).locator("#cs-pre-question").fill("how does the bonus wagering work")
        await w(page).locator("#cs-pre-age").check()
        await w(page).get_by_role("button", name="Start chat").click()
        await expect(w(page).locator(".suggestions > li").first).to_contain_text(
            "How do bonus wagering requirements work?"
        )
        # the agent steps away while the player reads: the player will wait in the queue
        await page.evaluate(
            "addEventListener('chat:availability', e => { window.csAway = !e.detail.available })"
        )
        await a.send("status", status="away")
        await page.wait_for_function("window.csAway === true")
        async with page.expect_response(lambda r: "/api/kb/outcome" in r.url) as answer:
            await w(page).get_by_role("button", name="I still need an agent").click()
        assert (await answer.value).status == 204
        await expect(w(page).locator(".queue")).to_be_visible()
        await expect(w(page).locator(".msg.player .meta")).to_contain_text("Sent")

        await say(page, "also my free spins are gone")
        await expect(w(page).locator(".queue a").first).to_have_text("How do I use free spins?")
        await shot(page, "widget-kb-waiting-en")

        await a.send("status", status="online")
        assigned = await a.expect("assigned")
        texts = [m["text"] for m in assigned["history"] if m["from"] == "player"]
        assert texts[:2] == ["how does the bonus wagering work", "also my free spins are gone"]
        kb = srv.app.state.kb
        assert kb.outcomes[("bonus", "needed_agent")] == 1
        await a.close()
