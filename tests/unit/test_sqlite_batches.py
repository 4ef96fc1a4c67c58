"""The SQLite store's group commit: multi-row statements, atomic batches, checkpoints."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatserver.core.conversation import Conversation, Message, Player, Sender
from chatserver.exceptions import StoreError
from chatserver.store import (
    AppendMessage,
    CreateChat,
    CreateRequest,
    CreateSession,
    EnqueueWebhooks,
    Op,
    SaveChat,
)
from chatserver.store.batches import batch_plan
from chatserver.store.sqlite import SqliteStore


def message(chat: str, seq: int) -> AppendMessage:
    return AppendMessage(Message(chat, seq, f"m{seq}", Sender.PLAYER, f"text {seq}", 1000 + seq))


@pytest.fixture
async def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(tmp_path / "t.db")
    await s.open()
    await s.migrate()
    conv = Conversation("c1", "s1", Player("Ali", None, "a@b.c", "technical"), created_at=1.0)
    await s.apply([CreateSession("s1", b"h", 1.0, None), CreateChat.of(conv)])
    yield s  # type: ignore[misc]
    await s.close()


async def test_a_big_batch_is_stored_whole_and_in_order(store: SqliteStore) -> None:
    """More rows than one multi-row INSERT takes, mixed with an update: all of it lands."""
    conv = Conversation("c1", "s1", Player("Ali", None, "a@b.c", "technical"), created_at=1.0)
    conv.agent_id = None
    ops = [message("c1", i) for i in range(1, 451)] + [SaveChat.of(conv)]
    await store.apply(ops)
    stored = await store.messages("c1")
    assert [m.seq for m in stored] == list(range(1, 451))
    assert stored[449].text == "text 450" and stored[0].id == "m1"


def pairing_turn(n: int) -> tuple[list[Op], list[Conversation]]:
    """What a turn of ``n`` new chats submits: (session, chat) for each chat, then, as
    agents take them, (the chat saved, its first message) for each."""
    ops: list[Op] = []
    convs = []
    for i in range(n):
        conv = Conversation(f"t{i}", f"u{i}", Player("Ali", None, "a@b.c", "billing"), 1.0)
        ops += [CreateSession(conv.session_id, b"h%d" % i, 1.0, None), CreateChat.of(conv)]
        convs.append(conv)
    for conv in convs:
        conv.requeued = True  # any change SaveChat carries
        ops += [SaveChat.of(conv), message(conv.id, 1)]
    return ops, convs


async def test_a_turn_of_new_chats_is_one_statement_per_kind(store: SqliteStore) -> None:
    """Interleaved kinds are put in order, each kind's run one statement, rows in the
    order given; the batch stores exactly what it would have one op at a time."""
    ops, convs = pairing_turn(3)
    steps = batch_plan(ops)
    assert [step[0].split(" (")[0] for step in steps if isinstance(step, tuple)] == [
        "INSERT INTO sessions",
        "INSERT INTO chats",
        "UPDATE chats SET state = ?, agent_id = ?, department = ?, requeued = ?,"
        " assigned_at = ?, first_response_at = ?, ended_at = ?, ended_by = ? WHERE id = ?",
        "INSERT INTO messages",
    ]
    assert [row[0] for row in steps[1][1]] == ["t0", "t1", "t2"]
    await store.apply(ops)
    live = {conv.id: conv for conv, _ in await store.live_chats()}
    for conv in convs:
        assert live[conv.id].requeued  # the update found the row inserted before it
        assert [m.text for m in live[conv.id].messages] == ["text 1"]


def test_nothing_moves_across_a_request_or_a_webhook() -> None:
    """A request draws its number as it is inserted, and what follows may name it: the
    kinds are ordered only between them."""
    conv = Conversation("c1", "s1", Player("Ali", None, "a@b.c", "billing"), created_at=1.0)
    request = CreateRequest("c1", 2.0, lambda: "R-1")
    webhooks = EnqueueWebhooks("chat.ended", (), dict, 2.0)
    ops: list[Op] = [
        message("c1", 7),
        SaveChat.of(conv),
        request,
        webhooks,
        message("c2", 1),
        CreateSession("s2", b"h", 1.0, None),
    ]
    steps = batch_plan(ops)
    kinds = [s if not isinstance(s, tuple) else s[0].split(" ")[0:3] for s in steps]
    assert kinds == [
        ["UPDATE", "chats", "SET"],
        ["INSERT", "INTO", "messages"],
        request,
        webhooks,
        ["INSERT", "INTO", "sessions"],
        ["INSERT", "INTO", "messages"],
    ]


async def test_a_batch_that_fails_leaves_nothing_behind(store: SqliteStore) -> None:
    """A duplicate in the last chunk rolls back the chunks before it: all or nothing."""
    await store.apply([message("c1", 300)])
    with pytest.raises(StoreError):
        await store.apply([message("c1", i) for i in range(1, 301)])
    assert [m.seq for m in await store.messages("c1")] == [300]
    # a one-statement batch (no explicit transaction) fails alone, too
    with pytest.raises(StoreError):
        await store.apply([message("c1", 299), message("c1", 300)])
    assert [m.seq for m in await store.messages("c1")] == [300]
    await store.apply([message("c1", 1)])  # and the store still works
    assert [m.seq for m in await store.messages("c1")] == [1, 300]


async def test_checkpoints_run_beside_the_commits(store: SqliteStore, tmp_path: Path) -> None:
    """Automatic checkpoints are off (they would stall the commit that triggers one); the
    store's own background checkpoint copies the WAL into the database file soon after."""
    assert store._batch is not None
    assert store._batch.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    db = tmp_path / "t.db"
    before = db.stat().st_size
    await store.apply([message("c1", i) for i in range(1, 201)])
    assert (tmp_path / "t.db-wal").stat().st_size > 0
    async with asyncio.timeout(10):
        while db.stat().st_size <= before:
            await asyncio.sleep(0.05)


async def test_the_wal_starts_over_although_commits_land_during_the_copy(
    store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite reuses the WAL from its start only when a commit finds all of it copied into
    the database; under steady load a commit lands during every copy, and the WAL would
    grow without end. The store then copies what came meanwhile with its commits held
    back, so the next commit starts the WAL over (the header's salt-1 goes up by one)."""
    import sqlite3

    from chatserver.store import sqlite

    monkeypatch.setattr(sqlite, "RESTART_FRAMES", 1)
    db = tmp_path / "t.db"
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    real, calls = sqlite._checkpoint_now, list[int]()

    def copy_while_another_commits(c: sqlite3.Connection) -> int:
        frames = real(c)
        if not calls:  # another process's commit lands while the first copy runs
            other.execute("UPDATE chats SET topic = 'billing' WHERE id = 'c1'")
        calls.append(frames)
        return frames

    monkeypatch.setattr(sqlite, "_checkpoint_now", copy_while_another_commits)

    def salt() -> int:
        with (tmp_path / "t.db-wal").open("rb") as f:
            return int.from_bytes(f.read(20)[16:20], "big")

    try:
        await store.apply([message("c1", i) for i in range(1, 21)])
        await store._checkpoint_round()
        assert len(calls) == 2
        before = salt()
        await store.apply([message("c1", 21)])
        assert salt() == before + 1  # started over
        assert [m.seq for m in await store.messages("c1")] == list(range(1, 22))
    finally:
        other.close()


async def test_a_batch_returns_only_after_the_wal_is_synced(
    store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch connection does not sync its commits itself (synchronous=NORMAL): the
    store fdatasyncs the WAL file before apply() returns, every time."""
    import os

    assert store._batch is not None
    assert store._batch.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    synced: list[int] = []
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    await store.apply([message("c1", 1)])
    await store.apply([message("c1", 2)])
    assert synced == [(tmp_path / "t.db-wal").stat().st_ino] * 2


def sync_places(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch, slow: dict[int, float]
) -> list[bool]:
    """Record, for every WAL sync from now on, whether it ran on the event loop's thread;
    the n-th sync takes ``slow[n]`` seconds of the store's clock, which nothing else moves.
    The real sync is left out: how long this machine's disk (or a busy moment of its CPU)
    takes must not decide where the next sync runs."""
    import threading
    import time

    from chatserver.store import sqlite

    loop_thread = threading.get_ident()
    where: list[bool] = []
    clock = [0.0]  # the store times its syncs on this clock, which only the syncs move

    class Time:
        def __getattr__(self, name: str) -> object:
            return getattr(time, name)

        @staticmethod
        def perf_counter() -> float:
            return clock[0]

    def sync() -> None:
        where.append(threading.get_ident() == loop_thread)
        clock[0] += slow.get(len(where), 0.0)

    monkeypatch.setattr(store, "_sync_wal", sync)
    monkeypatch.setattr(sqlite, "time", Time())
    return where


async def test_a_slow_disk_moves_the_sync_off_the_event_loop(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync that takes longer than SLOW_SYNC sends the next ones to the thread."""
    from chatserver.store import sqlite

    where = sync_places(store, monkeypatch, {2: sqlite.SLOW_SYNC * 2})
    store._sync_time = 0.0  # as measured on a fast disk
    for seq in (1, 2, 3):
        await store.apply([message("c1", seq)])
    assert where == [True, True, False]


@pytest.mark.parametrize(("first_ms", "next_inline"), [(0.0, True), (2.0, False)])
async def test_the_first_sync_runs_on_the_loop_and_times_the_disk(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch, first_ms: float, next_inline: bool
) -> None:
    """Before any sync was timed, the first one runs on the event loop (not on the thread,
    where the loop would read every socket before the commit's callbacks), and its time
    alone decides where the next ones run."""
    where = sync_places(store, monkeypatch, {1: first_ms / 1000})
    store._sync_time = None  # as opened: nothing timed yet
    for seq in (1, 2):
        await store.apply([message("c1", seq)])
    assert where == [True, next_inline]


async def test_a_batch_waits_for_another_process_writing(
    store: SqliteStore, tmp_path: Path
) -> None:
    """The batch never waits for a lock on the event loop (busy_timeout 0 there): when
    another connection holds the write lock, the batch waits for it on the thread."""
    import sqlite3

    other = sqlite3.connect(tmp_path / "t.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        done = asyncio.ensure_future(store.apply([message("c1", 1)]))
        # while the lock is held the apply neither fails nor finishes, and the loop runs
        await asyncio.wait({done}, timeout=0.2)
        assert not done.done()
        assert await store.messages("c1") == []
    finally:
        other.execute("COMMIT")
        other.close()
    async with asyncio.timeout(10):
        await done
    assert [m.seq for m in await store.messages("c1")] == [1]


async def test_stored_messages_keep_through_the_move_to_time_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 6 rebuilds the messages table in the order messages arrived, with one
    index for a chat's messages in seq order: nothing stored before is lost or changed,
    and the store still refuses a second message with a chat's seq."""
    import sqlite3

    from chatserver.store import sqlite as sqlite_store

    db = tmp_path / "old.db"
    every = sqlite_store.migrations()
    with monkeypatch.context() as m:  # a database as the release before left it
        m.setattr(sqlite_store, "migrations", lambda: [x for x in every if x[0] < 6])
        before = SqliteStore(db)
        await before.open()
        try:
            assert await before.migrate() == [1, 2, 3, 4, 5]
        finally:
            await before.close()
    old = sqlite3.connect(db, isolation_level=None)
    old.execute("PRAGMA foreign_keys = ON")
    old.execute("INSERT INTO sessions (id, token_hash, created_at) VALUES ('s1', x'01', 1)")
    for chat in ("c1", "c2"):
        old.execute(
            "INSERT INTO chats (id, session_id, state, player_name, topic, created_at, queued_at)"
            " VALUES (?, 's1', 'active', 'Ali', 'technical', 1, 1)",
            (chat,),
        )
    rows = [  # two chats' messages, interleaved in time
        (chat, seq, f"{chat}-m{seq}", "player", "player", f"{chat} says {seq}", 1000 + 2 * seq + k)
        for seq in range(1, 6)
        for k, chat in enumerate(("c2", "c1"))
    ]
    old.executemany(
        "INSERT INTO messages (chat_id, seq, client_id, author, sender, text, ts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    old.close()

    store = SqliteStore(db)
    await store.open()
    try:
        assert (await store.migrate())[0] == 6  # (and any later ones)
        for chat in ("c1", "c2"):
            stored = await store.messages(chat)
            assert [(m.seq, m.id, m.text, m.ts) for m in stored] == [
                (r[1], r[2], r[5], r[6]) for r in rows if r[0] == chat
            ]
        assert [m.seq for m in await store.messages("c1", after_seq=3)] == [4, 5]
        with pytest.raises(StoreError):
            await store.apply([message("c1", 5)])
        await store.apply([message("c1", 6)])
        assert [m.seq for m in await store.messages("c1")] == [1, 2, 3, 4, 5, 6]
    finally:
        await store.close()
