"""The relay across two nodes: ``python -m bench.run --only nodes``.

Both runs use PostgreSQL (a fresh database each, on the server that
``CHATSERVER_BENCH_POSTGRES_URL`` names, by default the local one) so the only
difference between them is the extra hop:

1. **one node**: players and agents on the same server, as in the relay scenario;
2. **two nodes**: a hub node and an edge node joined by a redis-server the bench
   starts on a free port; agents on the hub node, players on the edge node, so every
   player's frame goes edge -> Redis -> hub and every frame to a player comes back
   the same way.

The hop's cost is the difference of the two runs' latencies. Both runs are killed
with SIGKILL afterwards and checked for durability, as every scenario is.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx

from chatserver.store.postgres import PostgresStore

from . import procs, scenarios
from .harness import Acked, Harness

if TYPE_CHECKING:
    from .run import Run

__all__ = ["relay_across_nodes"]

ADMIN_URL = os.environ.get(
    "CHATSERVER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _db_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


class _Both:
    """Two server processes read as one: CPU of both; the hub node's (the first's)
    address, whose /metrics times every message."""

    def __init__(self, *parts: procs.Proc) -> None:
        self.parts = parts
        self.url = parts[0].url

    def cpu_seconds(self) -> float:
        return sum(p.cpu_seconds() for p in self.parts)


async def _database() -> str:
    name = f"chatserver_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def _drop(name: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL, timeout=10)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _durability(url: str, acked: list[Acked]) -> dict[str, Any]:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        rows = await conn.fetch("SELECT chat_id, client_id, seq FROM messages")
    finally:
        await conn.close()
    stored: dict[tuple[str, str], list[int]] = defaultdict(list)
    seqs: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        stored[(r["chat_id"], r["client_id"])].append(r["seq"])
        seqs[r["chat_id"]].append(r["seq"])
    gaps = sum(1 for s in seqs.values() if sorted(s) != list(range(1, len(s) + 1)))
    missing = sum(1 for a in acked if not stored.get((a.chat, a.client_id)))
    doubled = sum(1 for a in acked if len(stored.get((a.chat, a.client_id), [])) > 1)
    wrong = sum(1 for a in acked if stored.get((a.chat, a.client_id), [a.seq])[0] != a.seq)
    return {
        "acked": len(acked),
        "missing": missing,
        "duplicated": doubled,
        "wrong_seq": wrong,
        "chats_with_gaps": gaps,
        "chats_told": 0,
        "chats_not_stored": 0,
        "ok": not (missing or doubled or wrong or gaps),
    }


async def _ready(url: str, role: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                r = await client.get(url + "/readyz")
                if r.status_code == 200 and r.json().get("role") == role:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    raise TimeoutError(f"{url} never became ready as the {role} node")


async def _one_run(run: Run, name: str, two_nodes: bool, redis_url: str) -> None:
    s = run.sizes
    db = await _database()
    url = _db_url(db)
    nodes: list[procs.Proc] = []
    try:
        from .run import seed_agents  # run imports this module

        tokens = await seed_agents(PostgresStore(url), s.chats, 1)
        env = {"CHATSERVER_DATABASE_URL": url}
        if two_nodes:
            env["CHATSERVER_REDIS_URL"] = redis_url
        for role in ("hub", "edge") if two_nodes else ("hub",):
            port = procs.free_port()
            proc, _ = await run.chatserver(f"{name}-{role}", CHATSERVER_PORT=str(port), **env)
            nodes.append(proc)
            if two_nodes:
                await _ready(proc.url, role)
        hub, players_node = nodes[0], nodes[-1]
        h = Harness(players_node.ws)
        agents = await h.agents(tokens, url=hub.ws)
        players = await h.players(s.chats)
        pairs = await h.pair(players, agents)
        h.heartbeat(players + agents, every=20)
        server: Any = _Both(*nodes)
        senders = [p.player for p in pairs]
        await scenarios.relay_step(
            h, server, senders, rate=s.rate, seconds=1, acks=True, measure=False
        )
        hub_cpu0, t0 = hub.cpu_seconds(), time.monotonic()
        relay = await scenarios.relay_step(
            h, server, senders, rate=s.rate, seconds=s.seconds, acks=True
        )
        # what the hub node alone spent (server_cpu is both nodes together)
        relay["hub_cpu"] = round((hub.cpu_seconds() - hub_cpu0) / (time.monotonic() - t0), 3)
        relay["nodes"] = len(nodes)
        if two_nodes:
            # kill -9 the hub node with every chat live: how long until the edge runs the hub
            # (it takes the claim and reloads every live chat with its messages)
            t0 = time.monotonic()
            await run.kill(hub)
            await _ready(players_node.url, "hub")
            relay["takeover_s"] = round(time.monotonic() - t0, 2)
            relay["live_chats"] = len(pairs)
        run.results[name] = relay
        run.say(f"{name}: {relay}")
        for node in nodes:
            await run.kill(node)
        run.errors(name, h)
        run.check(f"{name}_durability", await _durability(url, h.acked))
        run.say(f"{name} durability: {run.results[f'{name}_durability']}")
    finally:
        for node in nodes:
            await run.kill(node)
        await _drop(db)


async def _idle(run: Run, redis_url: str) -> None:
    """Waiting widgets on an edge node: what each costs the hub node, and the edge."""
    s = run.sizes
    db = await _database()
    url = _db_url(db)
    nodes: list[procs.Proc] = []
    env = {
        "CHATSERVER_DATABASE_URL": url,
        "CHATSERVER_REDIS_URL": redis_url,
        "CHATSERVER_QUEUE_WITHOUT_AGENTS": "1",
    }
    players: list[Any] = []
    try:
        from .run import seed_agents

        await seed_agents(PostgresStore(url), 0, 1)  # migrated, no agents
        for role in ("hub", "edge"):
            port = procs.free_port()
            proc, _ = await run.chatserver(f"idle-{role}", CHATSERVER_PORT=str(port), **env)
            nodes.append(proc)
            await _ready(proc.url, role)
        hub, edge = nodes
        h = Harness(edge.ws)
        edge_rss0 = edge.rss_bytes()

        async def connect(n: int) -> Any:
            return await h.waiting(n, players)

        figures = await scenarios.idle(hub, connect, run.idle_size, window=s.idle_window, edge=edge)
        figures["edge_rss_per_connection_kib"] = round(
            (edge.rss_bytes() - edge_rss0) / run.idle_size / 1024, 2
        )
        run.results["nodes_idle"] = figures
        run.say(f"idle widgets on an edge (hub's figures): {figures}")
        run.errors("nodes_idle", h)
    finally:
        for node in nodes:
            await run.kill(node)
        await _drop(db)


async def relay_across_nodes(run: Run) -> None:
    """The relay on one node and across two, both on PostgreSQL; the hop's cost."""
    try:
        async with procs.redis_server() as redis_url:
            await _one_run(run, "nodes_one", False, "")
            await _one_run(run, "nodes_two", True, redis_url)
            await _idle(run, redis_url)
    except FileNotFoundError as exc:
        run.failures.append(f"nodes: {exc}")
        return
    one, two = run.results.get("nodes_one"), run.results.get("nodes_two")
    if one and two:
        hop = {
            key: round(two[key] - one[key], 3)
            for key in ("p50_ms", "p99_ms", "ack_p50_ms", "ack_p99_ms", "server_cpu", "hub_cpu")
            if two.get(key) is not None and one.get(key) is not None
        }
        run.results["nodes_hop"] = hop
        run.say(f"the extra hop costs: {hop}")
