"""SqliteStore: the embedded default store, one file, WAL mode.

Two aiosqlite connections: one for writes, serialised by a lock so one
transaction never sees another's statements, and one for reads, which in WAL
mode never waits for the writer. ``synchronous=FULL`` (the default setting)
fsyncs every commit, so a committed (and therefore acknowledged) message
survives a power cut as well as a crash; group commit keeps that affordable.

Group commits (``apply``, the hub's messages) have a connection of their own. Their
statements run on the event loop, where they only copy pages into the WAL (this
connection is ``synchronous=NORMAL``), and the WAL is then made durable with one
``fdatasync`` before ``apply`` returns: the same guarantee as FULL for what is
acknowledged, without a thread that fights the event loop for the GIL on every
statement (see bench/HISTORY.md). Readers may see a batch in the moment between its
commit and its sync; a power cut then would lose it, but nobody was acked. The
sync runs on the loop while the disk answers within half a millisecond, on a
thread when it is slower (``_sync``). If another process holds the write lock (a
CLI command), that batch waits for it on the thread as well.
Checkpoints run on a third connection and thread (see ``_checkpoints``). The
queries themselves are in ``sql.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import aiosqlite

from ..exceptions import ClientError, StoreError
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
from .worker import Worker

__all__ = ["SqliteStore"]

log = logging.getLogger("chatserver.store")

_CLAIM_POLL = 0.5  # seconds between tries for a claim another server holds
_BUSY_TIMEOUT_MS = 5000  # how long a statement waits for another process's write lock
# a WAL sync that takes less than this (on average) runs on the event loop (see _sync)
INLINE_SYNC = 0.0005
SLOW_SYNC = 0.005  # one sync this slow sends the next ones to the thread at once
CHECKPOINT_EVERY = 1.0  # seconds between checkpoints while anything is written
RESTART_FRAMES = 16384  # a WAL this long (64 MiB of 4 KiB pages) is started over: _checkpoints

T = TypeVar("T")


class _Tx:
    """A write transaction on the aiosqlite writer connection."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with _conflicts():
            cur = await self.conn.execute(sql, tuple(params))
        return cur.rowcount

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with _conflicts():
            await self.conn.executemany(sql, [tuple(r) for r in rows])

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def insert(self, sql: str, params: Sequence[Any]) -> int:
        with _conflicts():
            rows = list(await self.conn.execute_fetchall(sql, tuple(params)))
        return int(rows[0][0])


@contextlib.contextmanager
def _conflicts() -> Any:
    """sqlite3's "UNIQUE constraint failed: agents.username" as a Conflict."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        text = str(exc)
        if text.startswith("UNIQUE constraint failed: "):
            raise Conflict(text.split(": ", 1)[1].split(",")[0].strip(), text) from exc
        raise


class SqliteStore(SqlStore):
    """The Store on one SQLite file."""

    def __init__(self, path: str | Path, *, synchronous: str = "full") -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self._w: aiosqlite.Connection | None = None
        self._r: aiosqlite.Connection | None = None
        # the group commit's own connection, and the thread that syncs its WAL
        self._batch: sqlite3.Connection | None = None
        self._batch_thread: Worker | None = None
        # FULL: the batch connection runs NORMAL and apply() syncs the WAL itself
        self._sync_batches = synchronous.lower() == "full"
        self._wal_fd: int | None = None
        # seconds a WAL sync takes (a moving average); None until the first one is timed
        self._sync_time: float | None = None
        self._broken: OSError | None = None
        # checkpoints (copying the WAL into the database) run beside the commits, never
        # inside one: SQLite's automatic checkpoint would stall the commit that triggers it
        self._checkpoint: sqlite3.Connection | None = None
        self._checkpoint_thread: Worker | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        self._claim: BinaryIO | None = None
        self._dirty = False
        self.checkpoint_every = CHECKPOINT_EVERY
        self._lock = asyncio.Lock()

    # -- lifecycle -------------------------------------------------------------

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._w = await self._connect()
            await self._w.execute_fetchall("PRAGMA journal_mode = WAL")
            self._r = await self._connect()
            self._batch_thread = Worker("chatserver-commit")
            self._batch = await self._batch_thread.run(self._connect_batch)
            self._checkpoint_thread = Worker("chatserver-checkpoint")
            self._checkpoint = await self._checkpoint_thread.run(self._connect_sync)
            self._checkpointer = asyncio.get_running_loop().create_task(
                self._checkpoints(), name="chatserver-checkpoints"
            )
        except (sqlite3.Error, OSError) as exc:
            await self.close()
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        # PRAGMAs answer with a row; a statement left unread keeps its lock, so read them all
        await conn.execute_fetchall(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        await conn.execute_fetchall("PRAGMA foreign_keys = ON")
        await conn.execute_fetchall(f"PRAGMA synchronous = {self.synchronous.upper()}")
        await conn.execute_fetchall("PRAGMA wal_autocheckpoint = 0")  # see _checkpoints
        # what is deleted or changed is overwritten with zeros, not left in free space
        await conn.execute_fetchall("PRAGMA secure_delete = ON")
        return conn

    def _connect_sync(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute("PRAGMA secure_delete = ON")
        return conn

    def _connect_batch(self) -> sqlite3.Connection:
        conn = self._connect_sync()
        if self._sync_batches:
            conn.execute("PRAGMA synchronous = NORMAL")  # apply() syncs the WAL itself
        conn.execute("PRAGMA busy_timeout = 0")  # never wait on the event loop: see apply()
        return conn

    async def _checkpoints(self) -> None:
        """Every ``checkpoint_every`` seconds, if anything was written: a checkpoint."""
        while True:
            await asyncio.sleep(self.checkpoint_every)
            if self._dirty:
                self._dirty = False
                try:
                    await self._checkpoint_round()
                except sqlite3.Error as exc:  # a later one will do; commits never need it
                    log.warning("WAL checkpoint failed: %s", exc)

    async def _checkpoint_round(self) -> None:
        """Copy the WAL into the database (PASSIVE: it waits for no reader and no writer,
        and commits go on meanwhile).

        SQLite starts the WAL over from its beginning only when a commit finds all of it
        copied. Under steady load some commit always lands while a copy runs, so that
        moment never comes and the WAL would grow without end (every sync then also
        extends the file). So once the WAL holds ``RESTART_FRAMES``, the frames written
        during the copy are copied too with commits held back (a few frames and one sync
        of the database file), and the next commit starts the WAL over. (SQLite's own
        ``RESTART`` mode would hold writers back with its busy handler, which sleeps and
        polls; our commits wait on the store's lock instead.)"""
        thread, conn = self._checkpoint_thread, self._checkpoint
        if conn is None or thread is None:
            return
        if await thread.run(_checkpoint_now, conn) >= RESTART_FRAMES:
            async with self._lock:
                await thread.run(_checkpoint_now, conn)

    async def scrub(self) -> None:
        """After an erasure: copy the whole WAL into the database (where secure_delete has
        zeroed what was removed) and cut the WAL to nothing, so no old page survives there.
        Commits wait meanwhile; a reader still on an old snapshot makes it try again."""
        thread, conn = self._checkpoint_thread, self._checkpoint
        if conn is None or thread is None:
            return
        for _ in range(50):
            async with self._lock:
                busy = await thread.run(_truncate_wal, conn)
            if not busy:
                return
            await asyncio.sleep(0.05)
        raise StoreError("the WAL could not be emptied: a reader kept an old snapshot")

    async def claim(self, wait: float) -> bool:
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            self._claim = open(lock_path, "a+b")  # noqa: SIM115 - held until close()
        except OSError as exc:
            raise StoreError(f"cannot open {lock_path}: {exc}") from exc
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(self._claim.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self._claim.close()
                    self._claim = None
                    return False
                if not told:
                    log.warning("another chatserver is serving %s: waiting for it", self.path)
                    told = True
                await asyncio.sleep(min(_CLAIM_POLL, max(0.05, deadline - time.monotonic())))

    async def claim_held(self) -> bool:
        return self._claim is not None

    async def close(self) -> None:
        if self._claim is not None:
            self._claim.close()  # closing the file lets go of the lock
            self._claim = None
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        for conn in (self._w, self._r):
            if conn is not None:
                try:
                    await conn.close()
                except sqlite3.Error:  # pragma: no cover - closing a broken file
                    pass
        self._w = self._r = None
        for sync, thread in (
            (self._checkpoint, self._checkpoint_thread),
            (self._batch, self._batch_thread),
        ):
            if thread is not None:
                if sync is not None:
                    await thread.run(sync.close)
                thread.stop()
        self._batch = self._batch_thread = None
        self._checkpoint = self._checkpoint_thread = None
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None

    @property
    def _writer(self) -> aiosqlite.Connection:
        if self._w is None:
            raise StoreError("the store is not open")
        return self._w

    @property
    def _reader(self) -> aiosqlite.Connection:
        if self._r is None:
            raise StoreError("the store is not open")
        return self._r

    async def migrate(self) -> list[int]:
        w = self._writer
        async with self._lock:
            try:
                await w.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations"
                    " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
                )
                done = {
                    r[0] for r in await w.execute_fetchall("SELECT version FROM schema_migrations")
                }
                applied = []
                for version, name, sql in migrations():
                    if version in done:
                        continue
                    try:
                        await w.executescript(
                            f"BEGIN IMMEDIATE;\n{sql}\n"
                            "INSERT INTO schema_migrations"
                            f" VALUES ({version}, '{name}', {time.time()});\n"
                            "COMMIT;"
                        )
                    except sqlite3.Error:
                        await self._rollback()
                        raise
                    applied.append(version)
                return applied
            except sqlite3.Error as exc:
                raise StoreError(f"migration failed: {exc}") from exc

    async def ping(self) -> None:
        try:
            await self._reader.execute_fetchall("SELECT 1")
        except sqlite3.Error as exc:
            raise StoreError(f"database not answering: {exc}") from exc

    async def _rollback(self) -> None:
        try:
            await self._writer.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # no transaction was open

    # -- group commit ----------------------------------------------------------

    async def apply(self, ops: Sequence[Op]) -> None:
        c, thread = self._batch, self._batch_thread
        if c is None or thread is None:
            raise StoreError("the store is not open")
        if self._broken is not None:
            raise StoreError(f"the database file could not be synced: {self._broken}")
        async with self._lock:
            try:
                try:
                    self._apply_batch(c, ops)  # on the loop: pages into the WAL, no waiting
                except sqlite3.OperationalError as exc:
                    if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                        raise
                    await thread.run(_apply_waiting, c, ops)  # another process is writing
                self._dirty = True
                if self._sync_batches:
                    await self._sync(thread)
            except sqlite3.Error as exc:
                raise StoreError(f"write failed: {exc}") from exc
            except OSError as exc:
                # Committed but perhaps not on disk, and after a failed fsync the kernel
                # may already have dropped the pages: nothing later can be trusted.
                self._broken = exc
                raise StoreError(f"the database file could not be synced: {exc}") from exc

    async def _sync(self, thread: Worker) -> None:
        """fdatasync the WAL: here, while the disk answers within ``INLINE_SYNC``, since
        a hand-over to a thread and back costs more than that; on the thread otherwise,
        so that a slow disk never stalls the event loop for long.

        The first sync runs here too and its time starts the average: a first commit
        sent to the thread would leave the loop free to read whatever waits on every
        socket before the commit's callbacks run — after a start, a crowd of players
        reconnecting, and the first of them would wait for all of it."""
        start = time.perf_counter()
        average = self._sync_time
        if average is None or average < INLINE_SYNC:
            self._sync_wal()
        else:
            await thread.run(self._sync_wal)
        took = time.perf_counter() - start
        average = took if average is None else average + (took - average) * 0.1
        if took > SLOW_SYNC:
            average = max(average, took)  # one slow sync is enough to move
        self._sync_time = average

    def _sync_wal(self) -> None:
        """Make the WAL durable: every frame written so far survives a power cut.

        (fsync is per file, not per descriptor: our own descriptor of the WAL covers
        what the batch connection wrote through its own. SQLite removes the WAL only
        when the last connection closes, and ours stay open while the store is.)"""
        if self._wal_fd is None:
            self._wal_fd = os.open(f"{self.path}-wal", os.O_RDONLY | os.O_CLOEXEC)
        os.fdatasync(self._wal_fd)

    @staticmethod
    def _apply_batch(c: sqlite3.Connection, ops: Sequence[Op]) -> None:
        """The whole batch in one transaction (on the event loop; see ``apply``).

        The batch is a few statements, not one per row:
        consecutive inserts of one kind become one multi-row INSERT, and a batch that is
        a single such statement (the usual case: messages) needs no BEGIN/COMMIT."""
        steps: list[Callable[[], object]] = []
        for step in batch_plan(ops):
            if isinstance(step, CreateRequest):
                steps.append(partial(_create_request, c, step))
            elif isinstance(step, EnqueueWebhooks):
                steps.append(partial(_enqueue, c, step))  # runs after the request it names
            else:
                steps.extend(_statements(c, *step))
        if len(steps) == 1:
            steps[0]()  # one statement: atomic on its own
            return
        c.execute("BEGIN IMMEDIATE")
        try:
            for run in steps:
                run()
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise

    # -- the driver: reads and write transactions --------------------------------

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        try:
            return list(await self._reader.execute_fetchall(sql, tuple(params)))
        except sqlite3.Error as exc:
            raise StoreError(f"read failed: {exc}") from exc

    async def _transaction(self, work: Callable[[_Tx], Awaitable[T]], what: str) -> T:
        w = self._writer
        async with self._lock:
            try:
                await w.execute("BEGIN IMMEDIATE")
                result = await work(_Tx(w))
                await w.execute("COMMIT")
                return result
            except ClientError:
                await self._rollback()
                raise
            except (sqlite3.Error, Conflict) as exc:
                await self._rollback()
                raise StoreError(f"{what}: {exc}") from exc


_ROWS_PER_INSERT = 200  # × at most 12 columns: well below SQLite's 32,766 parameters


def _statements(
    c: sqlite3.Connection, sql: str, rows: list[tuple[Any, ...]]
) -> list[Callable[[], object]]:
    """``sql`` for every row: multi-row INSERTs (in chunks), or an executemany."""
    if not sql.startswith("INSERT"):
        return [partial(c.executemany, sql, rows)]
    head, one = sql.split(" VALUES ")
    out: list[Callable[[], object]] = []
    for k in range(0, len(rows), _ROWS_PER_INSERT):
        chunk = rows[k : k + _ROWS_PER_INSERT]
        statement = f"{head} VALUES {', '.join([one] * len(chunk))}"
        out.append(partial(c.execute, statement, [v for row in chunk for v in row]))
    return out


def _apply_waiting(c: sqlite3.Connection, ops: Sequence[Op]) -> None:
    """A batch that found the database locked by another process: wait for it here."""
    c.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    try:
        SqliteStore._apply_batch(c, ops)
    finally:
        c.execute("PRAGMA busy_timeout = 0")


def _checkpoint_now(c: sqlite3.Connection) -> int:
    """Copy the WAL into the database; returns how many frames the WAL holds."""
    _busy, frames, _copied = c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(frames)


def _truncate_wal(c: sqlite3.Connection) -> bool:
    """A TRUNCATE checkpoint; True if a reader kept it from finishing."""
    busy, _frames, _copied = c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return bool(busy)


def _create_request(c: sqlite3.Connection, op: CreateRequest) -> None:
    for _ in range(REQUEST_NUMBER_ATTEMPTS):
        number = op.new_number()
        if c.execute(REQUEST_INSERT, request_params(op, number)).rowcount == 1:
            op.number = number
            for sql, rows in request_created(op, number):
                c.executemany(sql, rows)
            return
    raise sqlite3.IntegrityError("no free request number after several attempts")


def _enqueue(c: sqlite3.Connection, op: EnqueueWebhooks) -> None:
    if op.urls:
        c.executemany(WEBHOOK_INSERT, webhook_rows(op))
