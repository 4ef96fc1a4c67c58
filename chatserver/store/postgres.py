"""PostgresStore: the Store on PostgreSQL, through asyncpg, for several nodes.

The queries are the SQLite store's (``sql.py``); this module numbers their ``?``
placeholders, runs them on a connection pool, and translates errors. Every group
commit is one transaction on one pooled connection, so two nodes writing at once
each commit whole batches; the database's unique keys (a chat's seq, a client's
message id) are what keep two nodes from storing the same thing twice.
Migrations take an advisory lock, so nodes starting together migrate once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from ..exceptions import ClientError, StoreError
from ..security import safe_url
from .base import CreateRequest, EnqueueWebhooks, Op
from .batches import (
    REQUEST_INSERT,
    REQUEST_NUMBER_ATTEMPTS,
    batch_plan,
    request_created,
    request_params,
)
from .outbox import WEBHOOK_INSERT, webhook_rows
from .sql import Conflict, Row, SqlStore, migrations

__all__ = ["PostgresStore", "numbered"]

log = logging.getLogger("chatserver.store")

T = TypeVar("T")

_MIGRATION_LOCK = 0x63686174  # any constant shared by every node: "chat"
_SERVER_LOCK = 0x63686175  # held by the server using the database
_CLAIM_POLL = 0.5  # seconds between tries for a claim another server holds
_numbered: dict[str, str] = {}


def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, ...`` (quoted text left alone)."""
    out = _numbered.get(sql)
    if out is None:
        parts: list[str] = []
        n = 0
        quoted = False
        for ch in sql:
            if ch == "'":
                quoted = not quoted
            if ch == "?" and not quoted:
                n += 1
                parts.append(f"${n}")
            else:
                parts.append(ch)
        out = _numbered[sql] = "".join(parts)
    return out


def _changed(status: str) -> int:
    """Rows changed, from a command tag such as ``UPDATE 1`` or ``INSERT 0 3``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _conflict(exc: asyncpg.UniqueViolationError) -> Conflict:
    # detail: 'Key (username)=(ali) already exists.'
    detail = getattr(exc, "detail", "") or ""
    column = detail.split("(", 1)[1].split(")", 1)[0] if detail.startswith("Key (") else ""
    return Conflict(f"{getattr(exc, 'table_name', '')}.{column}", str(exc))


class _Tx:
    """A write transaction on one pooled connection."""

    def __init__(self, conn: asyncpg.Connection | PoolConnectionProxy) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        try:
            return _changed(await self.conn.execute(numbered(sql), *params))
        except asyncpg.UniqueViolationError as exc:
            raise _conflict(exc) from exc

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            await self.conn.executemany(numbered(sql), rows)
        except asyncpg.UniqueViolationError as exc:
            raise _conflict(exc) from exc

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self.conn.fetch(numbered(sql), *params))

    async def insert(self, sql: str, params: Sequence[Any]) -> int:
        try:
            return int(await self.conn.fetchval(numbered(sql), *params))
        except asyncpg.UniqueViolationError as exc:
            raise _conflict(exc) from exc


_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


class PostgresStore(SqlStore):
    """The Store on a PostgreSQL database (``postgresql://user@host:port/name``)."""

    _departments_agg = (
        "(SELECT string_agg(department, ',' ORDER BY department)"
        " FROM agent_departments d WHERE d.agent_id = a.id)"
    )
    _like = "ILIKE"

    @staticmethod
    def _ci_eq(column: str) -> str:
        return f"lower({column}) = lower(?)"

    def __init__(self, dsn: str, *, pool_size: int = 10) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._claim: asyncpg.Connection | None = None

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn,
                min_size=1,
                max_size=self.pool_size,
                command_timeout=30,
                server_settings={"application_name": "chatserver"},
            )
        except (*_ERRORS, ValueError) as exc:
            raise StoreError(f"cannot open database {safe_url(self.dsn)}: {exc}") from exc

    async def claim(self, wait: float) -> bool:
        # a session-level advisory lock on a connection of its own: PostgreSQL lets go of
        # it when that connection ends, a killed server's included
        try:
            self._claim = await asyncpg.connect(
                self.dsn, timeout=10, server_settings={"application_name": "chatserver-claim"}
            )
            deadline = time.monotonic() + wait
            told = False
            while not await self._claim.fetchval("SELECT pg_try_advisory_lock($1)", _SERVER_LOCK):
                if time.monotonic() >= deadline:
                    await self._claim.close()
                    self._claim = None
                    return False
                if not told:
                    log.warning("another chatserver is serving %s: waiting", safe_url(self.dsn))
                    told = True
                await asyncio.sleep(min(_CLAIM_POLL, max(0.05, deadline - time.monotonic())))
            return True
        except (*_ERRORS, ValueError) as exc:
            if self._claim is not None:
                self._claim.terminate()
                self._claim = None
            raise StoreError(f"cannot claim database {safe_url(self.dsn)}: {exc}") from exc

    async def claim_held(self) -> bool:
        if self._claim is None:
            return False
        try:
            return bool(await self._claim.fetchval("SELECT 1", timeout=5))
        except (*_ERRORS, TimeoutError):
            return False

    async def close(self) -> None:
        if self._claim is not None:
            with contextlib.suppress(*_ERRORS):
                await self._claim.close()
            self._claim = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await pool.close()
            except _ERRORS:  # pragma: no cover - closing a broken pool
                pool.terminate()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("the store is not open")
        return self._pool

    async def migrate(self) -> list[int]:
        try:
            async with self.pool.acquire() as c:
                await c.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
                try:
                    await c.execute(
                        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY"
                        " KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
                    )
                    done = {r[0] for r in await c.fetch("SELECT version FROM schema_migrations")}
                    applied = []
                    for version, name, sql in migrations("migrations_postgres"):
                        if version in done:
                            continue
                        async with c.transaction():
                            await c.execute(sql)
                            await c.execute(
                                "INSERT INTO schema_migrations VALUES ($1, $2, $3)",
                                version,
                                name,
                                time.time(),
                            )
                        applied.append(version)
                    return applied
                finally:
                    await c.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
        except _ERRORS as exc:
            raise StoreError(f"migration failed: {exc}") from exc

    async def ping(self) -> None:
        try:
            await self.pool.fetchval("SELECT 1")
        except _ERRORS as exc:
            raise StoreError(f"database not answering: {exc}") from exc

    # -- group commit ----------------------------------------------------------

    async def apply(self, ops: Sequence[Op]) -> None:
        try:
            async with self.pool.acquire() as c, c.transaction():
                tx = _Tx(c)
                for step in batch_plan(ops):
                    if isinstance(step, CreateRequest):
                        await _create_request(tx, step)
                    elif isinstance(step, EnqueueWebhooks):
                        if step.urls:
                            await tx.executemany(WEBHOOK_INSERT, webhook_rows(step))
                    else:
                        await tx.executemany(*step)
        except (*_ERRORS, Conflict) as exc:
            raise StoreError(f"write failed: {exc}") from exc

    async def scrub(self) -> None:
        """After an erasure: vacuum the tables it changed, so the old row versions are
        removed from their pages rather than left until autovacuum comes by."""
        try:
            async with self.pool.acquire() as c:
                await c.execute(
                    "VACUUM chats, messages, notes, attachments, requests, request_events,"
                    " refusals, members, webhook_deliveries"
                )
        except _ERRORS as exc:
            raise StoreError(f"cannot vacuum: {exc}") from exc

    # -- the driver: reads and write transactions --------------------------------

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        try:
            return list(await self.pool.fetch(numbered(sql), *params))
        except _ERRORS as exc:
            raise StoreError(f"read failed: {exc}") from exc

    async def _transaction(self, work: Callable[[_Tx], Awaitable[T]], what: str) -> T:
        try:
            async with self.pool.acquire() as c, c.transaction():
                return await work(_Tx(c))
        except ClientError:
            raise
        except (*_ERRORS, Conflict) as exc:
            raise StoreError(f"{what}: {exc}") from exc


async def _create_request(tx: _Tx, op: CreateRequest) -> None:
    for _ in range(REQUEST_NUMBER_ATTEMPTS):
        number = op.new_number()
        if await tx.execute(REQUEST_INSERT, request_params(op, number)) == 1:
            op.number = number
            for sql, rows in request_created(op, number):
                await tx.executemany(sql, rows)
            return
    raise StoreError("no free request number after several attempts")
