"""The knowledge base over real HTTP and WebSockets: search, answers, limits, the help
centre, the editor's rules, import and export, metrics and bot hand-offs (on SQLite and on
PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest

from chatserver import cli
from chatserver.security import new_token, token_hash
from tests.integration.test_console_http import field, sign_in
from tests.support import SAMPLE_KB, RunningServer, agent, load_sample_kb, make_agent, start_chat, t

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def test_search_finds_articles_and_refuses_bad_queries(serve: Serve) -> None:
    """Ranked results with snippets and links; every bad parameter has its own code."""
    async with serve() as srv, httpx.AsyncClient(base_url=srv.http) as http:
        await load_sample_kb(srv)
        r = await http.get("/api/kb/search", params={"q": "yatirdigim para gecmedi"})
        assert r.status_code == 200
        first = r.json()["results"][0]
        assert first["id"] == "yatirim-hesaba-gecmedi" and first["locale"] == "tr"
        assert first["url"] == f"{srv.http}/help/yatirim-hesaba-gecmedi" and first["snippet"]
        r = await http.get("/api/kb/search", params={"q": "withdrawal", "locale": "en"})
        assert {x["locale"] for x in r.json()["results"]} == {"en"}
        r = await http.get("/api/kb/search", params={"q": "bonus", "topic": "bonus", "limit": 2})
        assert [x["topic"] for x in r.json()["results"]] == ["bonus", "bonus"]
        for params, code in [
            ({}, "missing_query"),
            ({"q": "x", "locale": "de"}, "invalid_locale"),
            ({"q": "x", "topic": "nope"}, "unknown_topic"),
            ({"q": "x", "limit": "0"}, "invalid_limit"),
            ({"q": "x", "limit": "abc"}, "invalid_limit"),
        ]:
            r = await http.get("/api/kb/search", params=params)
            assert (r.status_code, r.json()["error"]["code"]) == (400, code), params
        paths = (await http.get("/api/openapi.json")).json()["paths"]
        assert {"/api/kb/search", "/api/kb/articles/{id}", "/api/kb/outcome"} <= set(paths)


async def test_searches_and_answers_are_limited_per_address(serve: Serve) -> None:
    """Past the limit: 429 too_many_searches with Retry-After; a search found nothing good
    is kept (folded) for editors."""
    async with serve(kb_searches_per_address_per_minute=3) as srv:
        async with httpx.AsyncClient(base_url=srv.http) as http:
            for _ in range(3):
                r = await http.get("/api/kb/search", params={"q": "Galatasaray maçı"})
                assert r.status_code == 200 and r.json() == {"results": []}
            r = await http.get("/api/kb/search", params={"q": "bonus"})
            assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_searches"
            assert int(r.headers["retry-after"]) >= 1
            r = await http.post("/api/kb/outcome", json={"outcome": "needed_agent"})
            assert r.status_code == 429
        stats = await srv.hub.store.kb_stats(0)
        assert stats.misses == [("", "galatasaray maci", 3)]


async def test_articles_outcomes_and_votes(serve: Serve) -> None:
    """Published articles come as safe HTML; drafts and unknown ids are 404; outcomes and
    votes are checked and counted."""
    async with serve() as srv, httpx.AsyncClient(base_url=srv.http) as http:
        await load_sample_kb(srv)
        from chatserver.kb.articles import Article

        draft = Article(id="taslak", locale="tr", title="Taslak", body="x", published=False)
        await srv.app.state.kb.save([draft], by="test")
        r = await http.get("/api/kb/articles/freespin")
        assert r.status_code == 200 and "<p>Freespinler" in r.json()["html"]
        for path in ("/api/kb/articles/taslak", "/api/kb/articles/nope", "/help/taslak"):
            r = await http.get(path)
            assert r.status_code == 404, path
        assert (await http.get("/help/freespin")).status_code == 200

        ok = {"outcome": "self_served", "topic": "bonus", "locale": "tr", "article": "freespin"}
        assert (await http.post("/api/kb/outcome", json=ok)).status_code == 204
        for body, code in [
            (b"{", "invalid_json"),
            (b'{"outcome": 1}', "invalid_body"),
            (b'{"outcome": "x"}', "invalid_outcome"),
            (b'{"outcome": "self_served", "article": "nope"}', "article_not_found"),
            (b'{"outcome": "self_served", "topic": "nope"}', "unknown_topic"),
            (b'{"outcome": "self_served", "extra": 1}', "invalid_body"),
        ]:
            r = await http.post("/api/kb/outcome", content=body)
            assert r.json()["error"]["code"] == code, body
        assert (
            await http.post("/api/kb/articles/freespin/vote", json={"helpful": False})
        ).status_code == 204
        article = await srv.hub.store.kb_article("freespin")
        assert article is not None and (article.helpful, article.unhelpful) == (1, 1)
        stats = await srv.hub.store.kb_stats(0)
        assert stats.outcomes == {"bonus": {"self_served": 1}}
        # the floor shows the self-served share per topic
        await make_agent(srv, "lead", role="supervisor")
        await sign_in(http, "lead")
        floor = await http.get("/console/floor", headers={"Accept-Language": "en"})
        row = re.search(r"<tr><td>Campaign and bonus terms</td>(.*?)</tr>", floor.text)
        assert row is not None and row.group(1) == "<td>1</td><td>0</td><td>100 %</td>"


async def test_help_centre_lists_and_searches_in_each_language(serve: Serve) -> None:
    async with serve() as srv, httpx.AsyncClient(base_url=srv.http) as http:
        await load_sample_kb(srv)
        tr = await http.get("/help", params={"lang": "tr"})
        assert tr.status_code == 200 and 'lang="tr"' in tr.text
        assert "Para yatırma ve çekme" in tr.text and "Şifremi unuttum" in tr.text
        assert "forgot" not in tr.text.lower()
        assert "script-src 'self'" in tr.headers["content-security-policy"]
        en = await http.get("/help", params={"lang": "en", "q": "pasword reset"})
        assert "I forgot my password; how do I reset it?" in en.text
        none = await http.get("/help", params={"lang": "en", "q": "zzzz"})
        assert "No article matches" in none.text


async def test_only_editors_and_admins_edit_and_forms_need_csrf(serve: Serve) -> None:
    """A plain agent gets 403; an editor's form without its CSRF token is refused; a bad
    id is shown back on the form; the suggestion API needs a signed-in console."""
    async with serve() as srv:
        await make_agent(srv, "plain")
        await make_agent(srv, "ed")
        ed = await srv.hub.store.agent_by_username("ed")
        assert ed is not None
        await srv.hub.store.update_agent(ed.id, kb_editor=True)
        async with httpx.AsyncClient(base_url=srv.http) as anon:
            assert (await anon.get("/console/kb/suggest", params={"q": "x"})).status_code == 401
        async with httpx.AsyncClient(base_url=srv.http) as http:
            await sign_in(http, "plain")
            assert (await http.get("/console/kb")).status_code == 403
        async with httpx.AsyncClient(base_url=srv.http) as http:
            await sign_in(http, "ed")
            page = await http.get("/console/kb/new")
            assert page.status_code == 200
            form = {"id": "a", "title": "T", "locale": "tr", "body": "b", "published": "on"}
            r = await http.post("/console/kb", data=form)
            assert r.status_code == 403
            r = await http.post(
                "/console/kb", data={**form, "id": "Not An Id", "csrf": field(page.text, "csrf")}
            )
            assert r.status_code == 400 and "lower-case letters" in r.text
            r = await http.post("/console/kb", data={**form, "csrf": field(page.text, "csrf")})
            assert r.status_code == 303 and r.headers["location"] == "/console/kb/a?saved=1"
            assert srv.app.state.kb.article("a") is not None
            r = await http.get("/console/kb/suggest", params={"q": "T"})
            assert r.status_code == 200


def test_import_export_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """kb import then kb export writes back the same files; --prune deletes the rest."""
    db = str(tmp_path / "kb.db")
    assert cli.main(["kb", "import", str(SAMPLE_KB), "--db", db]) == 0
    out = tmp_path / "out"
    assert cli.main(["kb", "export", str(out), "--db", db]) == 0
    originals = sorted(p.relative_to(SAMPLE_KB) for p in SAMPLE_KB.rglob("*.md"))
    assert sorted(p.relative_to(out) for p in out.rglob("*.md")) == originals
    for rel in originals:
        assert (out / rel).read_bytes() == (SAMPLE_KB / rel).read_bytes(), rel
    (out / "tr" / "freespin.md").unlink()
    assert cli.main(["kb", "import", str(out), "--prune", "--db", db]) == 0
    assert "deleted 1" in capsys.readouterr().out
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.md").write_text("---\nid: x\ntitle: t\nlocale: tr\ntopic: nope\n---\n")
    assert cli.main(["kb", "import", str(bad), "--db", db]) == 1
    assert "x.md: topic: unknown topic 'nope'" in capsys.readouterr().err


async def test_a_running_server_picks_up_an_import(serve: Serve, tmp_path: Path) -> None:
    """Articles another process imports are searchable within kb_refresh_seconds."""
    async with serve(kb_refresh_seconds=0.1) as srv, httpx.AsyncClient(base_url=srv.http) as http:
        from chatserver.kb.folder import read_folder

        await srv.hub.store.kb_save(read_folder(SAMPLE_KB), now=time.time(), by="import")
        deadline = time.monotonic() + t(10)
        while srv.app.state.kb.article("freespin") is None:
            assert time.monotonic() < deadline, "the import was not picked up"
            await asyncio.sleep(0.05)
        r = await http.get("/api/kb/search", params={"q": "freespin"})
        assert r.json()["results"][0]["id"] == "freespin"


async def test_metrics_count_searches_and_outcomes(serve: Serve) -> None:
    async with serve(metrics_token="m" * 32) as srv, httpx.AsyncClient(base_url=srv.http) as http:
        await load_sample_kb(srv)
        await http.get("/api/kb/search", params={"q": "bonus"})
        await http.get("/api/kb/search", params={"q": "qqqq"})
        await http.post("/api/kb/outcome", json={"outcome": "needed_agent", "topic": "bonus"})
        text = (await http.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})).text
        assert "chatserver_kb_articles 50.0" in text
        assert "chatserver_kb_searches_total 2.0" in text
        assert "chatserver_kb_misses_total 1.0" in text
        assert 'chatserver_kb_outcomes_total{outcome="needed_agent",topic="bonus"} 1.0' in text


async def test_handoff_is_for_bots_and_needs_someone_to_take_the_chat(
    serve: Serve, tmp_path: Path
) -> None:
    """A person cannot hand off (they transfer); a bot cannot hand off to nobody."""
    from tests.browser.test_widget_bot import bot_first_routing

    async with serve(routing_file=bot_first_routing(tmp_path, "technical")) as srv:
        await make_agent(srv, "helper", name="Asistan")
        record = await srv.hub.store.agent_by_username("helper")
        assert record is not None
        await srv.hub.store.update_agent(record.id, bot=True)
        token = new_token("cst_")
        await srv.hub.store.add_token(record.id, token_hash(token), "bot", 0.0)
        bot, _ = await agent(srv, token)
        player, _ = await start_chat(srv, topic="technical")
        chat = (await bot.expect("assigned"))["chat"]
        await bot.send("handoff", chat=chat, reason="no_article")
        err = await bot.expect("error")
        assert err["code"] == "no_agents" and err["chat"] == chat
        person, _ = await agent(srv, await make_agent(srv, "ayse"))
        await person.send("handoff", chat=chat, reason="x")
        assert (await person.expect("error"))["code"] == "forbidden"
        await bot.send("handoff", chat=chat, reason="no_article", summary="asked about the app")
        got = await person.expect("assigned")
        assert got["chat"] == chat and got["notes"][0]["text"].startswith("Hand-off: no_article")
        # a topic that is not bot_first never goes to the bot
        other, _ = await start_chat(srv, name="Other", topic="other")
        assert (await person.expect("assigned"))["player"]["name"] == "Other"
        for ws in (bot, person, player, other):
            await ws.close()
