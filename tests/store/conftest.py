"""The store under test: the same tests run on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chatserver.store import Store
from chatserver.store.postgres import PostgresStore
from chatserver.store.sqlite import SqliteStore
from tests.postgres import database_url, drop_database, fresh_database


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        s: Store = SqliteStore(tmp_path / "store.db")
        await s.open()
        await s.migrate()
        yield s
        await s.close()
        return
    name = await fresh_database()
    s = PostgresStore(database_url(name))
    await s.open()
    try:
        yield s
    finally:
        await s.close()
        await drop_database(name)
