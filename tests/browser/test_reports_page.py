"""The reports page in a real browser: filters, figures, four charts drawn under the
console's strict CSP (no JavaScript errors), exports linked."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

from playwright.async_api import expect

from chatserver.store import RateRequest
from tests.browser.conftest import shot
from tests.browser.test_console import sign_in
from tests.store.test_reports_store import ended_chat
from tests.store.test_store import T0, agent_id
from tests.support import RunningServer, make_agent

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
DAY = 86400.0


async def test_the_reports_page_draws_its_charts(serve: Serve, new_page) -> None:  # type: ignore[no-untyped-def]
    async with serve(report_rollup_seconds=3600) as srv:
        store = srv.hub.store
        await make_agent(srv, "lead", name="Lead", role="supervisor")
        a = await agent_id(store, "ayse")
        for day in range(5):
            for k in range(day + 2):
                n = await ended_chat(
                    store, f"c{day}-{k}", agent=a, wait=10 + 40 * k, first_response=8,
                    handle=200, at=T0 + day * DAY + k * 600, resolution="resolved",
                )  # fmt: skip
                await store.apply([RateRequest(n, k % 2 == 0, 5 - k % 3, None, T0 + day * DAY)])
            await ended_chat(store, f"off{day}", agent=None, offline=True, at=T0 + day * DAY)
        await srv.app.state.reports.roll_up(until=T0 + 10 * DAY)

        page = await new_page(locale="en-GB")
        await sign_in(page, srv, "lead")
        first = datetime.fromtimestamp(T0 - DAY, UTC).date().isoformat()
        last = datetime.fromtimestamp(T0 + 6 * DAY, UTC).date().isoformat()
        await page.goto(f"{srv.http}/console/reports?from={first}&to={last}")
        tiles = page.get_by_role("region", name="Figures")
        await expect(tiles).to_contain_text("Chats")
        await expect(tiles.locator(".tile").first).to_contain_text("25")  # 20 answered + 5 left
        # waits 10, 50, 90, 130, 170, 210 s (5, 5, 4, 3, 2, 1 of them): half within 60 s
        await expect(tiles).to_contain_text("≤ 60 s / ≤ 300 s")
        for chart in ("chats", "times", "csat", "hours"):
            await expect(page.locator(f"#chart-{chart}[data-drawn=true] canvas")).to_have_count(1)
        await expect(page.get_by_role("link", name="days.csv")).to_have_attribute(
            "href", f"/api/reports?from={first}&to={last}&format=csv&table=days"
        )
        await expect(page.locator(".floor-grid table").first).to_contain_text("Ayşe")
        await shot(page, "console-reports")
