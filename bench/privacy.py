"""Erasure and retention at size, measured by a bystander. ``python -m bench.privacy
[--chats 20000] [--json out.json]``

1. A SQLite store gets ``--chats`` closed requests from three years ago (8 messages and a note
   each, the last 500 of them one person's), written straight into its tables.
2. A real server starts on it, with a bystander player who pings every 250 ms and writes
   every second (as in ``bench.hostile``). Its round trips are measured:
   - ``quiet``: nothing else happens (the baseline, in the same run);
   - ``erase``: an admin erases the person with 500 requests through the REST API
     (one transaction, then the scrub: the WAL copied and cut), measured until a second
     after it;
   - ``purge``: the retention purge removes the messages and notes of every other request,
     200 chats a batch, as it does every ``retention_run_seconds``, then scrubs the WAL
     (measured until three seconds after the last item went).
   For each: the bystander's ping and message-ack p50/p99/max, and how long the work took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from chatserver.privacy.retention import BATCH
from chatserver.security import hash_password, new_token, token_hash
from chatserver.store.sqlite import SqliteStore

from . import procs
from .hostile import Bystander

__all__ = ["main", "run"]

PERSON = "zeynep@example.com"
THEIRS = 500
METRICS_TOKEN = "bench-metrics-token-0123456789"


def generate(path: Path, chats: int) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA foreign_keys = OFF")
    old = time.time() - 3 * 365 * 86400
    sessions, rows, requests, messages, notes = [], [], [], [], []
    for i in range(chats):
        chat = f"c{i:08d}"
        mine = i >= chats - THEIRS
        email = PERSON if mine else f"player{i}@example.com"
        t = old + i
        sessions.append((f"s{i:08d}", i.to_bytes(8, "big"), t))
        rows.append((chat, f"s{i:08d}", f"Player {i}", email, t, t, t + 10, t + 300))
        requests.append((f"R{i:09d}", chat, t + 300, t + 400))
        for seq in range(1, 9):
            sender = "player" if seq % 2 else "agent"
            text = f"message {seq} of chat {i}: my account number is {1000000 + i} and more text"
            messages.append((chat, seq, f"m{seq}", sender, sender, text, int((t + seq) * 1000)))
        notes.append((chat, 2, "n1", "Agent", f"note about player {i}", 8, int(t * 1000)))
    db.executemany("INSERT INTO sessions (id, token_hash, created_at) VALUES (?, ?, ?)", sessions)
    db.execute("INSERT INTO agents (id, username, name, role, max_chats, created_at)"
               " VALUES (2, 'agent1', 'Agent', 'agent', 3, 0)")  # fmt: skip
    db.executemany(
        "INSERT INTO chats (id, session_id, state, topic, department, player_name, player_email,"
        " agent_id, created_at, queued_at, assigned_at, ended_at, ended_by)"
        " VALUES (?, ?, 'ended', 'technical', 'technical', ?, ?, 2, ?, ?, ?, ?, 'agent')",
        rows,
    )
    db.executemany(
        "INSERT INTO requests (number, chat_id, status, created_at, updated_at)"
        " VALUES (?, ?, 'closed', ?, ?)",
        requests,
    )
    db.execute(  # every chat names its request (migration 0015)
        "UPDATE chats SET request_number = (SELECT r.number FROM requests r"
        " WHERE r.chat_id = chats.id) WHERE request_number IS NULL"
    )
    db.executemany(
        "INSERT INTO messages (chat_id, seq, client_id, author, sender, text, ts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        messages,
    )
    db.executemany(
        "INSERT INTO notes (chat_id, agent_id, client_id, author_name, text, after_seq, ts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        notes,
    )
    db.commit()
    db.close()


async def _removed(url: str) -> float:
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    total = 0.0
    for line in r.text.splitlines():
        if line.startswith("chatserver_retention_removed_total{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def run(
    chats: int,
    folder: Path,
    say: Any = print,
    *,
    settle: float = 12.0,
    purge_after: float = 25.0,
) -> dict[str, Any]:
    """``settle``: seconds after start before the baseline (the report rollup adds the whole
    history first); ``purge_after``: when the server's first purge runs."""
    path = folder / "privacy.db"
    store = SqliteStore(path)
    await store.open()
    await store.migrate()
    admin = await store.add_agent(
        username="root", name="Root", password_hash=hash_password("correct horse battery"),
        role="admin", departments=("*",), max_chats=3, now=time.time(),
    )  # fmt: skip
    token = new_token("cst_")
    await store.add_token(
        admin.id, token_hash(token), "bench", time.time(), scopes=("requests:read", "admin")
    )
    await store.close()
    t0 = time.perf_counter()
    generate(path, chats)
    say(f"  {chats} closed requests written in {time.perf_counter() - t0:.1f} s")
    env = {
        "CHATSERVER_PORT": "0",
        "CHATSERVER_DB": str(path),
        "CHATSERVER_FILES_DIR": str(folder / "files"),
        "CHATSERVER_LOG_LEVEL": "warning",
        "CHATSERVER_QUEUE_WITHOUT_AGENTS": "1",
        "CHATSERVER_METRICS_TOKEN": METRICS_TOKEN,
        "CHATSERVER_RETENTION_RUN_SECONDS": str(purge_after),
    }
    started = time.perf_counter()
    server = await procs.start(["-m", "chatserver", "serve"], env)
    bystander = Bystander()
    stop = asyncio.Event()
    watching = asyncio.create_task(bystander.run(server.ws, stop))
    results: dict[str, Any] = {"chats": chats, "batch": BATCH}
    try:
        # the report rollup adds the whole history in the server's first seconds: let it
        while not bystander.pings or time.perf_counter() - started < settle:
            await asyncio.sleep(0.05)
        since = bystander.window()
        await asyncio.sleep(3)
        results["quiet"] = bystander.figures(since)
        say(f"  quiet: {results['quiet']}")

        since = bystander.window()
        t0 = time.perf_counter()
        async with httpx.AsyncClient(timeout=120) as http:
            r = await http.post(
                f"{server.url}/api/privacy/subjects/erase",
                json={"email": PERSON, "reason": "bench"},
                headers={"Authorization": f"Bearer {token}"},
            )
        r.raise_for_status()
        took = time.perf_counter() - t0
        await asyncio.sleep(1)  # the window: the erasure and a second after it
        results["erase"] = {
            "seconds": round(took, 2),
            **r.json()["erased"],
            **bystander.figures(since),
        }
        say(f"  erase: {results['erase']}")

        # the purge starts purge_after seconds after the server did; wait for it, then time it
        while time.perf_counter() - started < purge_after - 0.5:
            await asyncio.sleep(0.1)
        since = bystander.window()
        t0 = time.perf_counter()
        expected = (chats - THEIRS) * 9  # every other chat's messages and note
        while (removed := await _removed(server.url)) < expected:
            await asyncio.sleep(0.1)
        seconds = time.perf_counter() - t0
        await asyncio.sleep(3)  # and the scrub that follows it
        results["purge"] = {
            "seconds": round(seconds, 2),
            "items": int(removed),
            "chats_per_second": round((chats - THEIRS) / seconds),
            **bystander.figures(since),
        }
        say(f"  purge: {results['purge']}")
    finally:
        stop.set()
        await asyncio.wait({watching}, timeout=10)
        await server.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.privacy", description=__doc__)
    parser.add_argument("--chats", type=int, default=20_000)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(run(args.chats, Path(tmp)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
