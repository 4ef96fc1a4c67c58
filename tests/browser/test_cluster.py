"""The widget in a real browser against several nodes: it keeps the chat when the hub
node dies, reconnecting on its own and losing nothing."""

from __future__ import annotations

import signal

from playwright.async_api import expect

from tests.browser.helpers import say, start_chat, w
from tests.cluster import Cluster, agent_back
from tests.support import agent


async def test_the_widget_survives_the_death_of_the_hub_node(cluster: Cluster, new_page) -> None:  # type: ignore[no-untyped-def]
    """Page and socket on an edge node, agent on the hub node; kill -9 the hub: the edge
    takes over, the widget resumes by itself with its messages, none doubled."""
    hub = await cluster.node("hub")
    edge = await cluster.node("edge")
    token = await cluster.agent_token("ayse")
    a, _ = await agent(hub.ws, token)

    page = await new_page(locale="en-US")
    await page.goto(f"{edge.url}/?lang=en")  # the page itself comes through the edge
    await page.wait_for_function("window.ChatWidget !== undefined")
    await w(page).locator(".launcher").click()
    await start_chat(page, name="Mehmet")
    chat = (await a.expect("assigned"))["chat"]
    await say(page, "my withdrawal is late")
    await a.expect("message", chat=chat, **{"from": "player"})
    await a.send("message", chat=chat, id="a1", text="checking it now")
    await expect(w(page).get_by_text("checking it now")).to_be_visible()

    assert await hub.stop(signal.SIGKILL) == -signal.SIGKILL
    await cluster.ready(edge, "hub")
    a2, welcome = await agent_back(edge.ws, token)
    assert [c["chat"] for c in welcome["chats"]] == [chat]
    await a2.send("message", chat=chat, id="a2", text="found it: it is on its way")
    await expect(w(page).get_by_text("found it: it is on its way")).to_be_visible(timeout=20_000)
    await say(page, "thank you")
    got = await a2.expect("message", chat=chat, **{"from": "player"})
    assert got["text"] == "thank you"
    # the conversation is whole and nothing shows twice
    await expect(w(page).get_by_text("my withdrawal is late")).to_have_count(1)
    await expect(w(page).get_by_text("checking it now")).to_have_count(1)
