"""Reports at size: a year of history, rolled up, then read. ``python -m bench.reports
[--chats 1000000] [--json out.json]``

1. A year of ended chats (default one million, spread over the hours of 2026 with a daily
   and weekly rhythm, ten departments' topics, 60 agents, two languages; 3% left in the
   queue, 5% left as messages, 30% rated, 20% with an NPS answer) is written into a fresh
   SQLite store, straight into its tables.
2. The hub's rollup runs over all of it, a batch at a time as on a server: the time per chat
   is what the rollups cost the hub as chats end.
3. Reports are read as the console asks for them (a week, a month, the year; with and
   without filters), 20 times each; the p99 is reported. The bare baseline in the same run is
   one ``SELECT count(*)`` over the chats of the same range: what reading the raw history
   once costs, which a report never does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from chatserver.pools import BoundedPool
from chatserver.reports.service import BATCH, Reports
from chatserver.store.sqlite import SqliteStore

__all__ = ["main", "run"]

TZ = "Europe/Istanbul"
YEAR = 2026
TOPICS = {
    "membership": "general", "payments": "finance", "bonus": "promotions",
    "technical": "technical", "complaint": "complaints", "fraud": "security",
    "privacy": "privacy", "other": "general",
}  # fmt: skip
AGENTS = 60


def generate(path: Path, chats: int, seed: int = 3) -> None:
    """Write ``chats`` ended chats of the year (and their requests) into the store at ``path``."""
    rng = random.Random(seed)
    start = datetime(YEAR, 1, 1, tzinfo=ZoneInfo(TZ)).timestamp()
    seconds = 365 * 86400
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA foreign_keys = OFF")
    db.executemany(
        "INSERT INTO agents (id, username, name, role, max_chats, created_at)"
        " VALUES (?, ?, ?, 'agent', 4, 0)",
        [(i, f"agent{i}", f"Agent {i}") for i in range(1, AGENTS + 1)],
    )
    topics = list(TOPICS)
    batch = 50_000
    for first in range(0, chats, batch):
        sessions, rows, requests = [], [], []
        for i in range(first, min(chats, first + batch)):
            # busier in the evening and at weekends, as the platforms are
            t = start + rng.random() * seconds
            hour = (t // 3600 + 3) % 24
            if rng.random() > (0.35 + 0.65 * (hour >= 12)):
                t = start + rng.random() * seconds
            kind = rng.random()
            topic = rng.choice(topics)
            chat = f"c{i:08d}"
            wait = rng.expovariate(1 / 40)
            assigned = None if kind < 0.08 else t + wait
            first_response = None if assigned is None else assigned + rng.expovariate(1 / 20)
            ended = (assigned or t) + (rng.expovariate(1 / 400) if assigned else 30)
            sessions.append((f"s{i:08d}", i.to_bytes(8, "big"), t))
            rows.append(
                (
                    chat, f"s{i:08d}", topic, rng.choice(("tr", "tr", "tr", "en")),
                    TOPICS[topic], None if assigned is None else rng.randint(1, AGENTS),
                    t, t, assigned, first_response, ended,
                )
            )  # fmt: skip
            rated = assigned is not None and rng.random() < 0.3
            requests.append(
                (
                    f"R{i:09d}", chat, ended, ended,
                    "resolved" if assigned is not None and rng.random() < 0.7 else None,
                    (rng.random() < 0.8) if rated else None,
                    rng.choice((1, 3, 4, 5, 5)) if rated else None,
                    ended + 30 if rated else None,
                    rng.randint(0, 10) if rated and rng.random() < 0.66 else None,
                )
            )  # fmt: skip
        db.executemany(
            "INSERT INTO sessions (id, token_hash, created_at) VALUES (?, ?, ?)", sessions
        )
        db.executemany(
            "INSERT INTO chats (id, session_id, state, topic, locale, department, agent_id,"
            " created_at, queued_at, assigned_at, first_response_at, ended_at, ended_by)"
            " VALUES (?, ?, 'ended', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'player')",
            rows,
        )
        db.executemany(
            "INSERT INTO requests (number, chat_id, status, created_at, updated_at, resolution,"
            " resolved, rating, rated_at, nps) VALUES (?, ?, 'open', ?, ?, ?, ?, ?, ?, ?)",
            requests,
        )
        db.execute(  # every chat names its request (migration 0015)
            "UPDATE chats SET request_number = (SELECT r.number FROM requests r"
            " WHERE r.chat_id = chats.id) WHERE request_number IS NULL"
        )
        db.commit()
    db.close()


def _pct(times: list[float], p: float) -> float:
    times = sorted(times)
    return round(times[min(len(times) - 1, int(p * len(times)))] * 1000, 1)


async def run(chats: int, folder: Path, repeat: int = 20) -> dict[str, Any]:
    path = folder / "reports.db"
    store = SqliteStore(path, synchronous="normal")
    await store.open()
    await store.migrate()
    await store.close()
    t0 = time.perf_counter()
    generate(path, chats)
    generated = time.perf_counter() - t0

    store = SqliteStore(path, synchronous="normal")
    await store.open()
    pool = BoundedPool("reports", 1, 8)
    reports = Reports(store, pool, TOPICS, timezone=TZ)
    # the rollup a batch at a time, as the hub runs it; each batch is one write transaction
    until = datetime(YEAR + 1, 2, 1).timestamp()
    rolled, batches = 0, []
    t0 = time.perf_counter()
    while True:
        s = time.perf_counter()
        done = await store.roll_up(until, TOPICS, TZ, BATCH)
        batches.append(time.perf_counter() - s)
        rolled += done
        if done == 0:
            break
    rollup = time.perf_counter() - t0
    rows = (await store._fetch("SELECT count(*) AS n FROM report_hours"))[0]["n"]

    zone = ZoneInfo(TZ)
    last = date(YEAR, 12, 31)
    cases: dict[str, tuple[tuple[date, date], dict[str, Any]]] = {
        "week": ((last - timedelta(days=6), last), {}),
        "month": ((last - timedelta(days=29), last), {}),
        "year": ((date(YEAR, 1, 1), last), {}),
        "year, one department": ((date(YEAR, 1, 1), last), {"department": "finance"}),
        "year, one agent": ((date(YEAR, 1, 1), last), {"agent_id": 7}),
        "year, topic and language": (
            (date(YEAR, 1, 1), last),
            {"topic": "bonus", "locale": "en"},
        ),
    }
    results: dict[str, Any] = {}
    for name, (span, filters) in cases.items():
        times, bare = [], []
        since = datetime.combine(span[0], datetime.min.time(), zone).timestamp()
        end = datetime.combine(span[1] + timedelta(days=1), datetime.min.time(), zone)
        for _ in range(repeat):
            s = time.perf_counter()
            report = await reports.report(span, filters)
            times.append(time.perf_counter() - s)
            s = time.perf_counter()
            await store._fetch(
                "SELECT count(*) AS n FROM chats WHERE ended_at >= ? AND ended_at < ?",
                (since, end.timestamp()),
            )
            bare.append(time.perf_counter() - s)
        results[name] = {
            "chats": report["totals"]["chats"],
            "p50_ms": _pct(times, 0.5),
            "p99_ms": _pct(times, 0.99),
            "bare_count_p99_ms": _pct(bare, 0.99),
        }
        print(f"{name}: {results[name]}")
    await store.close()
    pool.close()
    out = {
        "chats": chats,
        "generate_seconds": round(generated, 1),
        "rolled_items": rolled,
        "rollup_seconds": round(rollup, 1),
        "rollup_us_per_item": round(rollup / max(rolled, 1) * 1e6, 1),
        "batch_p50_ms": _pct(batches, 0.5),
        "batch_p99_ms": _pct(batches, 0.99),
        "batch_max_ms": round(max(batches) * 1000, 1),
        "report_hour_rows": rows,
        "reports": results,
    }
    print({k: v for k, v in out.items() if k != "reports"})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chatserver-reports-") as folder:
        out = asyncio.run(run(args.chats, Path(folder)))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
