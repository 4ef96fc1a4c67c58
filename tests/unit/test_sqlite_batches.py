"""The SQLite store's group commit: multi-row statements, atomic batches, checkpoints."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chatserver.core.conversation import Conversation, Message, Player, Sender
from chatserver.exceptions import StoreError
from chatserver.store import AppendMessage, CreateChat, CreateSession, SaveChat
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
