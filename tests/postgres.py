"""Fresh PostgreSQL databases for tests.

PostgreSQL is the machine's server (CHATSERVER_TEST_POSTGRES_URL, by default the local
one with trust authentication). The first use migrates a template database once; each
test then gets a fresh copy of it, dropped afterwards; the template goes at the end.
"""

from __future__ import annotations

import os
import secrets

import asyncpg
import pytest

from chatserver.store.postgres import PostgresStore

ADMIN_URL = os.environ.get(
    "CHATSERVER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_template: str | None = None


async def require_postgres() -> None:
    """Skip (a failure in strict mode) when the PostgreSQL server is not reachable."""
    try:
        conn = await asyncpg.connect(ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(
            f"PostgreSQL not reachable at {ADMIN_URL} ({exc}); set CHATSERVER_TEST_POSTGRES_URL"
        )
    await conn.close()


def database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def fresh_database() -> str:
    """A new database, migrated, for one test; its name."""
    global _template
    try:
        admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(
            f"PostgreSQL not reachable at {ADMIN_URL} ({exc}); set CHATSERVER_TEST_POSTGRES_URL"
        )
    try:
        if _template is None:
            name = f"chatserver_tpl_{secrets.token_hex(4)}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            store = PostgresStore(database_url(name))
            await store.open()
            await store.migrate()
            await store.close()
            _template = name
        name = f"chatserver_test_{secrets.token_hex(6)}"
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_template}"')
        return name
    finally:
        await admin.close()


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def drop_template() -> None:
    global _template
    if _template is not None:
        await drop_database(_template)
        _template = None
