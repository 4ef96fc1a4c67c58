"""Browser fixtures: Debian's Chromium driven headless by Playwright (never a downloaded browser).

Screenshots of key screens go to ``test-artifacts/`` at the top of the repository.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# what a sandboxed CI machine needs; no background traffic to the outside world
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (./scripts/check installs it)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


class PageErrors(list[str]):
    """JavaScript errors a page raised; a test fails if there are any."""


@pytest.fixture
async def new_page(browser: Browser) -> AsyncIterator:  # type: ignore[type-arg]
    """``await new_page(width=..., locale=...)``: a page in a fresh context (own storage)."""
    errors = PageErrors()
    contexts = []

    async def make(width: int = 1280, height: int = 800, locale: str = "tr-TR") -> Page:
        ctx = await browser.new_context(viewport={"width": width, "height": height}, locale=locale)
        contexts.append(ctx)
        page = await ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_default_timeout(10_000)
        return page

    yield make
    for ctx in contexts:
        await ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


async def shot(page: Page, name: str) -> None:
    """Keep a screenshot of a key screen as a test artifact."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
