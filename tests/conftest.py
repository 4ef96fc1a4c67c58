"""Fixtures shared by every tier, and the strict mode CI runs in.

With ``CHATSERVER_TEST_STRICT=1`` (set by .ci/run) a skipped test is a failure:
CI must never pass because a service binary was missing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from chatserver.config import Settings
from tests.cluster import Cluster
from tests.postgres import database_url as postgres_url
from tests.postgres import drop_database, drop_template, fresh_database
from tests.redis_server import RedisServer, redis_server
from tests.support import RunningServer, running_server

STRICT = os.environ.get("CHATSERVER_TEST_STRICT") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in strict mode (CHATSERVER_TEST_STRICT=1): {report.longrepr}"


# CHATSERVER_TEST_STORE=postgres runs every server the tests start on a fresh PostgreSQL
# database instead of a SQLite file (the store contract tests run on both regardless).
STORE = os.environ.get("CHATSERVER_TEST_STORE", "sqlite")


@pytest.fixture(scope="session", autouse=True)
def _postgres_template() -> Iterator[None]:
    yield
    asyncio.run(drop_template())


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database when the suite runs on PostgreSQL, else ""."""
    if STORE != "postgres":
        yield ""
        return
    name = await fresh_database()
    yield postgres_url(name)
    await drop_database(name)


@pytest.fixture
def settings_for(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    """Settings on a fresh database (and file store) in the test's temporary folder."""

    def make(**overrides: Any) -> Settings:
        overrides.setdefault("db", str(tmp_path / "chat.db"))
        overrides.setdefault("files_dir", str(tmp_path / "files"))
        overrides.setdefault("database_url", database_url)
        return Settings(**overrides)

    return make


@pytest.fixture
def serve(
    settings_for: Callable[..., Settings],
) -> Callable[..., AbstractAsyncContextManager[RunningServer]]:
    """``async with serve(**settings) as srv``: a real server with these settings."""

    def start(**overrides: Any) -> AbstractAsyncContextManager[RunningServer]:
        return running_server(settings_for(**overrides))

    return start


@pytest.fixture
async def server(
    serve: Callable[..., AbstractAsyncContextManager[RunningServer]],
) -> AsyncIterator[RunningServer]:
    """A real server with default settings on a fresh database."""
    async with serve() as srv:
        yield srv


@pytest.fixture
async def queue_server(
    serve: Callable[..., AbstractAsyncContextManager[RunningServer]],
) -> AsyncIterator[RunningServer]:
    """A real server where players may wait in the queue while no agent is online."""
    async with serve(queue_without_agents=True) as srv:
        yield srv


@pytest.fixture
async def mailbox() -> AsyncIterator[Any]:
    """A real local SMTP server; ``await mailbox.next()`` is the next mail it got."""
    from tests.support import Mailbox

    box = Mailbox()
    await asyncio.to_thread(box.controller.start)
    try:
        yield box
    finally:
        await asyncio.to_thread(box.controller.stop)


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A redis-server of the test's own, on a free port (tests/redis_server.py)."""
    async with redis_server(tmp_path) as server:
        yield server


@pytest.fixture
async def cluster(tmp_path: Path, redis: RedisServer) -> AsyncIterator[Cluster]:
    """Nodes the test starts (``await cluster.node("hub")``), joined by ``redis``, on a
    fresh PostgreSQL database; all killed at the end."""
    name = await fresh_database()
    c = Cluster(tmp_path, postgres_url(name), redis.url)
    try:
        yield c
    finally:
        await c.close()
        await drop_database(name)
