"""Players following their requests, measured by a bystander. ``python -m bench.followups
[--requests 20000] [--players 50] [--rounds 20] [--json out.json]``

1. A SQLite store gets ``--requests`` finished requests (4 messages each), written straight
   into its tables.
2. A real server starts on it with no agent online, and a bystander player who pings every
   250 ms and writes every second from another address (as in ``bench.hostile``). Its round
   trips are measured:
   - ``quiet``: nothing else happens for 30 s (the baseline, in the same run);
   - ``follow``: ``--players`` widget sessions each look up ``--rounds`` random requests by
     number and e-mail and write on each (kept for the team, as nobody is free): the
     look-up, the follow-up and the request's new view, over the socket;
   - ``paced``: the same, about ``--rate`` follow-ups a second in all;
   - ``guessing``: as many sessions from one address guess numbers with a wrong contact,
     until the look-up limit refuses them (measured until a second after).
   For each: the bystander's ping and ack p50/p99/max; for ``follow``, follow-ups a second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from chatserver.core.requests import format_request_number, request_number_from_bits

from . import procs
from .hostile import Bystander, frame_of, ws

__all__ = ["main", "run"]


def generate(path: Path, requests: int) -> list[tuple[str, str]]:
    """Finished requests straight into the tables; (number, e-mail) of each."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA foreign_keys = OFF")
    start = time.time() - 30 * 86400
    sessions, chats, rows, messages, out = [], [], [], [], []
    for i in range(requests):
        chat, number = f"c{i:08d}", request_number_from_bits(i + 1)
        email = f"player{i}@example.com"
        t = start + i
        sessions.append((f"s{i:08d}", i.to_bytes(8, "big"), t))
        chats.append((chat, f"s{i:08d}", f"Player {i}", email, t, t, t + 10, t + 300, number))
        rows.append((number, chat, t + 300, t + 300))
        for seq in range(1, 5):
            sender = "player" if seq % 2 else "agent"
            messages.append((chat, seq, f"m{seq}", sender, sender, f"message {seq}", int(t * 1000)))
        out.append((format_request_number(number), email))
    db.executemany("INSERT INTO sessions (id, token_hash, created_at) VALUES (?, ?, ?)", sessions)
    db.executemany(
        "INSERT INTO chats (id, session_id, state, topic, department, player_name, player_email,"
        " created_at, queued_at, assigned_at, ended_at, ended_by, request_number)"
        " VALUES (?, ?, 'ended', 'technical', 'technical', ?, ?, ?, ?, ?, ?, 'player', ?)",
        chats,
    )
    db.executemany(
        "INSERT INTO requests (number, chat_id, status, created_at, updated_at)"
        " VALUES (?, ?, 'resolved', ?, ?)",
        rows,
    )
    db.executemany(
        "INSERT INTO messages (chat_id, seq, client_id, author, sender, text, ts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        messages,
    )
    db.commit()
    db.close()
    return out


async def _follower(
    url: str, known: list[tuple[str, str]], rounds: int, seed: int, pause: float = 0.0
) -> int:
    """One widget session: look up a random request, write on it; ``rounds`` times, with
    ``pause`` seconds between."""
    rng = random.Random(seed)
    # each player from an address of their own, as on the internet (failed look-ups are
    # limited per address, and attempts in flight count)
    conn = await ws(f"{url}/ws/player", f"127.0.{1 + seed // 200}.{20 + seed % 200}")
    await conn.send(json.dumps({"type": "hello", "v": 1}))
    await frame_of(conn, {"welcome"})
    done = 0
    for n in range(rounds):
        number, email = rng.choice(known)
        which = {"number": number, "contact": email}
        await _ask(conn, {"type": "look_up", **which}, "request")
        text = f"follow-up {seed}-{n}"
        await _ask(conn, {"type": "follow_up", "id": f"f{n}", "text": text, **which}, "following")
        await frame_of(conn, {"request"})
        done += 1
        if pause:
            await asyncio.sleep(pause)
    await conn.close()
    return done


async def _ask(conn: Any, frame: dict[str, Any], answer: str) -> dict[str, Any]:
    """Send ``frame`` until it is answered: a session writing faster than its frame limit
    (``player_rate``) is told to wait, as the widget would be."""
    while True:
        await conn.send(json.dumps(frame))
        got = await frame_of(conn, {answer, "error"})
        if got["type"] == answer:
            return got
        if got["code"] != "rate_limited":
            raise RuntimeError(f"{frame['type']}: {got}")
        await asyncio.sleep(got.get("retry_after_ms", 200) / 1000)


async def _guesser(url: str, address: str, seed: int) -> int:
    """Wrong guesses until refused; how many were answered before the refusal."""
    conn = await ws(f"{url}/ws/player", address)
    await conn.send(json.dumps({"type": "hello", "v": 1}))
    await frame_of(conn, {"welcome"})
    answered = 0
    for n in range(50):
        number = format_request_number(request_number_from_bits(10**9 + seed * 100 + n))
        await conn.send(json.dumps({"type": "look_up", "number": number, "contact": "x@y.z"}))
        err = await frame_of(conn, {"error"})
        if err["code"] == "too_many_attempts":
            break
        answered += 1
    await conn.close()
    return answered


async def run(
    requests: int,
    players: int,
    rounds: int,
    folder: Path,
    say: Any = print,
    rate: float = 20,
    quiet: float = 30,
) -> dict[str, Any]:
    path = folder / "followups.db"
    from chatserver.store.sqlite import SqliteStore

    store = SqliteStore(path)
    await store.open()
    await store.migrate()
    await store.close()
    t0 = time.perf_counter()
    known = generate(path, requests)
    say(f"  {requests} finished requests written in {time.perf_counter() - t0:.1f} s")
    env = {
        "CHATSERVER_PORT": "0",
        "CHATSERVER_DB": str(path),
        "CHATSERVER_FILES_DIR": str(folder / "files"),
        "CHATSERVER_LOG_LEVEL": "warning",
        "CHATSERVER_QUEUE_WITHOUT_AGENTS": "1",
        # each follower writes --rounds follow-ups in a minute, more than a person would
        "CHATSERVER_CHATS_PER_ADDRESS_PER_MINUTE": "100000",
    }
    server = await procs.start(["-m", "chatserver", "serve"], env)
    bystander = Bystander()
    stop = asyncio.Event()
    watching = asyncio.create_task(bystander.run(server.ws, stop))
    results: dict[str, Any] = {"requests": requests, "players": players, "rounds": rounds}
    try:
        while not bystander.pings:
            await asyncio.sleep(0.05)
        await asyncio.sleep(2)
        since = bystander.window()
        await asyncio.sleep(quiet)  # as long as a disk hiccup may take to come by
        results["quiet"] = bystander.figures(since)
        say(f"  quiet: {results['quiet']}")

        async def followers(first_seed: int, pause: float) -> dict[str, Any]:
            since = bystander.window()
            t0 = time.perf_counter()
            done = await asyncio.gather(
                *(
                    _follower(server.ws, known, rounds, first_seed + seed, pause)
                    for seed in range(players)
                )
            )
            took = time.perf_counter() - t0
            return {
                "follow_ups": sum(done),
                "seconds": round(took, 2),
                "per_second": round(sum(done) / took),
                **bystander.figures(since),
            }

        results["follow"] = await followers(0, 0.0)
        say(f"  follow: {results['follow']}")
        # the same at a steadier pace: about ``rate`` follow-ups a second in all
        results["paced"] = await followers(1000, players / rate)
        say(f"  paced: {results['paced']}")

        since = bystander.window()
        t0 = time.perf_counter()
        answered = await asyncio.gather(
            *(_guesser(server.ws, "127.0.0.2", seed) for seed in range(players))
        )
        await asyncio.sleep(1)  # the window: the guessing and a second after it
        results["guessing"] = {
            "sessions": players,
            "wrong_answers_before_refusal": sum(answered),
            "seconds": round(time.perf_counter() - t0, 2),
            **bystander.figures(since),
        }
        say(f"  guessing: {results['guessing']}")
    finally:
        stop.set()
        await asyncio.wait({watching}, timeout=10)
        await server.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.followups", description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--players", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--rate", type=float, default=20, help="follow-ups a second, paced")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(
            run(args.requests, args.players, args.rounds, Path(tmp), rate=args.rate)
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
