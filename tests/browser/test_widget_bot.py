"""A bot takes bot_first chats first and hands them to people (examples/kb_bot.py)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from types import ModuleType

from playwright.async_api import expect

from chatserver.security import new_token, token_hash
from tests.browser.conftest import shot
from tests.browser.helpers import open_widget, say, w
from tests.support import RunningServer, agent, load_sample_kb, make_agent

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
ROOT = Path(__file__).resolve().parents[2]


def example_bot() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kb_bot", ROOT / "examples" / "kb_bot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look themselves up there)
    spec.loader.exec_module(module)
    return module


def bot_first_routing(tmp_path: Path, topic: str) -> str:
    """The shipped routing file with ``bot_first = true`` on one topic."""
    text = (ROOT / "chatserver" / "routing.toml").read_text(encoding="utf-8")
    marker = f'id = "{topic}"\n'
    assert marker in text
    path = tmp_path / "routing.toml"
    path.write_text(text.replace(marker, marker + "bot_first = true\n"), encoding="utf-8")
    return str(path)


async def bot_account(srv: RunningServer) -> str:
    store = srv.hub.store
    await make_agent(srv, "helper", name="Asistan", max_chats=20)
    record = await store.agent_by_username("helper")
    assert record is not None
    await store.update_agent(record.id, bot=True)
    token = new_token("cst_")
    await store.add_token(record.id, token_hash(token), "bot", 0.0)
    return token


async def test_the_example_bot_answers_then_hands_off(
    serve: Serve,
    new_page,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    """The player's question goes to the bot first; it answers with an article; "hayır"
    makes it hand off; a person gets the chat with everything said and the bot's note."""
    async with serve(routing_file=bot_first_routing(tmp_path, "bonus")) as srv:
        await load_sample_kb(srv)
        bot = example_bot().Bot(srv.http, await bot_account(srv))
        running = asyncio.create_task(bot.run())
        try:
            person, _ = await agent(srv, await make_agent(srv, "ayse", name="Ayşe"))
            page = await new_page()
            await open_widget(page, srv, "tr")
            await w(page).locator("#cs-pre-name").fill("Mehmet")
            await w(page).locator("#cs-pre-email").fill("m@example.com")
            await w(page).locator("#cs-pre-topic").select_option("bonus")
            await w(page).locator("#cs-pre-age").check()
            await w(page).get_by_role("button", name="Görüşmeyi başlat").click()
            await expect(w(page).get_by_text("Asistan görüşmeye katıldı.")).to_be_visible()

            await say(page, "bonus cevrim sarti nasil hesaplaniyor")
            await expect(w(page).locator(".msg.agent").last).to_contain_text(
                "Bonus çevrim şartları nasıl işler?"
            )
            await say(page, "hayır, ben bonusu iptal etmek istiyorum")
            await expect(
                w(page).get_by_text("Asistan görüşmeyi ekibimize aktardı. Sıranın başındasınız.")
            ).to_be_visible()
            assigned = await person.expect("assigned")
            await expect(w(page).get_by_text("Ayşe görüşmeye katıldı.")).to_be_visible()
            await shot(page, "widget-bot-handoff-tr")

            said = [m["text"] for m in assigned["history"] if m["from"] == "player"]
            assert said == [
                "bonus cevrim sarti nasil hesaplaniyor",
                "hayır, ben bonusu iptal etmek istiyorum",
            ]
            assert any(m["from"] == "agent" and m["name"] == "Asistan" for m in assigned["history"])
            (note,) = assigned["notes"]
            assert note["agent"]["name"] == "Asistan"
            assert note["text"].startswith("Hand-off: not_answered\nPlayer said: bonus cevrim")
            # the chat keeps its seqs: nothing the bot's part of the chat said is lost
            seqs = [m["seq"] for m in assigned["history"]]
            assert seqs == list(range(1, len(seqs) + 1))
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
