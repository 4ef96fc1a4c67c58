"""Reports over real HTTP: figures from chats played through the server, CSV and JSON, who
may read them, and clear errors (on SQLite and on PostgreSQL)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

from tests.support import RunningServer, agent, make_agent, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def test_a_small_history_gives_its_figures(serve: Serve) -> None:
    """Two chats answered by one agent, one rated 5 and resolved: the report says so, as
    JSON and CSV; an agent (not a supervisor) is refused."""
    async with serve(report_rollup_seconds=3600) as srv:
        token = await make_agent(srv, "ayse", name="Ayşe")
        lead = await make_agent(srv, "lead", role="supervisor")
        a, _ = await agent(srv, token)
        for rating in (5, None):
            p, _ = await start_chat(srv)
            chat = (await p.expect("assigned"))["chat"]
            await a.expect("assigned", chat=chat)
            await a.send("message", chat=chat, id=f"hi-{rating}", text="Merhaba")
            await p.expect("message", **{"from": "agent"})
            await a.send("end", chat=chat, resolution="resolved")
            number = (await p.expect("ended"))["request_number"]
            if rating is not None:
                async with httpx.AsyncClient(base_url=srv.http) as http:
                    r = await http.post(
                        f"/api/requests/{number}/status",
                        json={"status": "resolved"},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    assert r.status_code == 200
                await p.send("rate", resolved=True, rating=rating, nps=9)
                await p.expect("rated")
            await p.close()
        added = await srv.app.state.reports.roll_up(until=time.time() + 1)
        assert added == 4  # two chats, one rating, one request resolved
        assert await srv.app.state.reports.roll_up(until=time.time() + 1) == 0

        auth = {"Authorization": f"Bearer {lead}"}
        async with httpx.AsyncClient(base_url=srv.http, headers=auth) as http:
            r = await http.get("/api/reports")
            assert r.status_code == 200
            body = r.json()
            t = body["totals"]
            assert (t["chats"], t["answered"], t["offline"], t["abandoned"]) == (2, 2, 0, 0)
            assert (t["ratings"], t["rating_avg"], t["csat"], t["said_resolved_share"]) == (
                1, 5.0, 1.0, 1.0,
            )  # fmt: skip
            assert t["resolved_share"] == 1.0 and t["wait_p50"] == 15  # under 15 s
            assert (t["nps_answers"], t["nps"]) == (1, 100.0)
            assert (t["self_served"], t["self_served_share"]) == (0, None)
            assert t["resolutions"] == 1 and t["resolution_avg"] is not None
            assert t["first_response_avg"] is not None and t["handle_avg"] is not None
            assert sum(body["hours_of_day"]) == 2 and len(body["days"]) == 7
            assert [(x["agent"], x["answered"]) for x in body["agents"]] == [("Ayşe", 2)]
            assert body["query"]["timezone"] == "Europe/Istanbul"

            r = await http.get("/api/reports", params={"format": "csv", "table": "agents"})
            assert r.headers["content-type"].startswith("text/csv")
            rows = list(csv.DictReader(io.StringIO(r.text)))
            assert rows[0]["agent"] == "Ayşe" and rows[0]["answered"] == "2"
            r = await http.get("/api/reports", params={"format": "csv"})
            days = list(csv.DictReader(io.StringIO(r.text)))
            assert len(days) == 7 and sum(int(d["chats"]) for d in days) == 2

            assert "/api/reports" in (await http.get("/api/openapi.json")).json()["paths"]
            r = await http.get("/api/reports", params={"topic": "payments"})
            assert r.json()["totals"]["chats"] == 0
            for params, code in [
                ({"from": "2026-13-01"}, "invalid_date"),
                ({"from": "2026-12-06", "to": "2026-12-01"}, "invalid_range"),
                ({"from": "2020-01-01", "to": "2026-01-01"}, "invalid_range"),
                ({"topic": "nope"}, "unknown_topic"),
                ({"department": "nope"}, "unknown_department"),
                ({"locale": "de"}, "unknown_locale"),
                ({"agent": "x"}, "invalid_agent"),
                ({"agent": "1", "topic": "bonus"}, "invalid_filter"),
                ({"format": "xml"}, "invalid_format"),
                ({"table": "x"}, "invalid_table"),
            ]:
                r = await http.get("/api/reports", params=params)
                assert (r.status_code, r.json()["error"]["code"]) == (400, code), params
        async with httpx.AsyncClient(base_url=srv.http) as http:
            r = await http.get("/api/reports", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
            assert (await http.get("/api/reports")).status_code == 401


async def test_the_weekly_report_e_mail(serve: Serve) -> None:
    """Each recipient gets the past week in their language: figures, and the charts as PNG
    images the HTML shows inline; a broken schedule stops the server at start-up."""
    from PIL import Image

    from chatserver.config import Settings
    from chatserver.exceptions import ConfigError
    from tests.support import Mailbox

    mailbox = Mailbox()
    mailbox.controller.start()
    try:
        to = ("tr:lead@example.com", "en:ops@example.com")
        async with serve(
            weekly_report_to=to, report_rollup_seconds=3600, **mailbox.settings()
        ) as srv:
            token = await make_agent(srv, "ayse", name="Ayşe")
            a, _ = await agent(srv, token)
            p, _ = await start_chat(srv)
            chat = (await p.expect("assigned"))["chat"]
            await a.send("end", chat=chat)
            await p.expect("ended")
            reports = srv.app.state.reports
            next_week = time.time() + 3 * 86400
            assert await reports.send_weekly(srv.app.state.weekly_mail, next_week) == 2
            got = {}
            for _ in range(2):
                rcpt, msg = await mailbox.next()
                got[rcpt[0]] = msg
        tr, en = got["lead@example.com"], got["ops@example.com"]
        assert tr["Subject"].startswith("Destek raporu,") and en["Subject"].startswith(
            "Support report,"
        )
        html = tr.get_body(("html",)).get_content()
        assert "Görüşmeler" in html and html.count('src="cid:') == 2
        images = [part for part in tr.walk() if part.get_content_type() == "image/png"]
        assert len(images) == 2
        for part in images:
            assert f"cid:{part['Content-ID'][1:-1]}" in html
            assert Image.open(io.BytesIO(part.get_content())).size == (560, 200)
        text = en.get_body(("plain",)).get_content()
        assert "Chats: 1" in text and "Ayşe: 1" in text
    finally:
        mailbox.controller.stop()
    for bad in ({"weekly_report_at": "someday 9"}, {"weekly_report_to": ("de:x@example.com",)}):
        try:
            Settings(**bad)  # type: ignore[arg-type]
        except ConfigError:
            continue
        raise AssertionError(f"{bad} was accepted")
