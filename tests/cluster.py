"""Several real nodes for tests: ``python -m chatserver serve`` processes on their own
ports, a redis-server of the test's own (tests/redis_server.py) and a fresh PostgreSQL
database (tests/postgres.py). The ``cluster`` fixture (tests/conftest.py) builds one.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chatserver.security import hash_password, new_token, token_hash
from chatserver.store.postgres import PostgresStore
from tests.support import FACTOR, WS, ServerProcess, agent, free_port, pg_rows, player, t

__all__ = ["BEAT", "METRICS_TOKEN", "Cluster", "acked", "agent_back", "pair", "resume"]

METRICS_TOKEN = "metrics-token-of-the-cluster-tests"
BEAT = 0.5 * FACTOR  # heartbeats in these tests: a dead node is noticed within 2 s


class Cluster:
    def __init__(self, tmp_path: Path, db_url: str, redis_url: str) -> None:
        self.tmp = tmp_path
        self.db_url = db_url
        self.env = {
            "CHATSERVER_DATABASE_URL": db_url,
            "CHATSERVER_REDIS_URL": redis_url,
            "CHATSERVER_CLUSTER_BEAT_SECONDS": str(BEAT),
            "CHATSERVER_FILES_DIR": str(tmp_path / "files"),  # shared, as on a network volume
            "CHATSERVER_LOG_LEVEL": "info",
            "CHATSERVER_PLAYER_RATE": "50",
            "CHATSERVER_PLAYER_BURST": "100",
            # every test player comes from 127.0.0.1 (the per-address limits have tests of
            # their own, tests/hostile)
            "CHATSERVER_CHATS_PER_ADDRESS_PER_MINUTE": "1000",
            "CHATSERVER_METRICS_TOKEN": METRICS_TOKEN,
        }
        self.nodes: list[ServerProcess] = []

    async def node(self, role: str | None = None) -> ServerProcess:
        port = free_port()
        proc = ServerProcess(self.tmp / "unused.db", "--port", str(port), env=self.env)
        await proc.start()
        self.nodes.append(proc)
        if role is not None:
            await self.ready(proc, role)
        return proc

    async def ready(self, node: ServerProcess, role: str) -> dict[str, Any]:
        """Wait until the node's /readyz says it is ready, in this role."""
        async with httpx.AsyncClient() as client, asyncio.timeout(t(20)):
            while True:
                try:
                    r = await client.get(node.url + "/readyz")
                    body: dict[str, Any] = r.json()
                    if r.status_code == 200 and body.get("role") == role:
                        return body
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)  # polling a condition, with a deadline

    async def agent_token(self, username: str, max_chats: int = 3) -> str:
        store = PostgresStore(self.db_url)
        await store.open()
        try:
            rec = await store.add_agent(
                username=username,
                name=username.capitalize(),
                password_hash=hash_password("correct horse battery"),
                role="agent",
                departments=("*",),
                max_chats=max_chats,
                now=time.time(),
            )
            token = new_token("cst_")
            await store.add_token(rec.id, token_hash(token), "test", time.time())
            return token
        finally:
            await store.close()

    async def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of a query on the cluster's database."""
        return await pg_rows(self.db_url, sql, *args)

    async def stored(self, chat: str) -> list[tuple[int, str, str]]:
        return await self.query(  # type: ignore[return-value]
            "SELECT seq, client_id, sender FROM messages WHERE chat_id = $1 ORDER BY seq", chat
        )

    async def close(self) -> None:
        for node in self.nodes:
            await node.stop(signal.SIGKILL)


async def pair(player_url: str, agent_ws: WS) -> tuple[WS, dict[str, Any], str]:
    """A player (on ``player_url``) sends the pre-chat form and is given to the agent."""
    p, welcome = await player(player_url)
    await p.send("prechat", name="Mehmet", email="m@x.io", topic="bonus", age_confirmed=True)
    chat: str = (await p.expect("assigned", timeout=10))["chat"]
    await agent_ws.expect("assigned", chat=chat, timeout=10)
    return p, welcome, chat


async def resume(url: str, session: str, last_seq: int) -> tuple[WS, dict[str, Any]]:
    """Reconnect as a widget does: retry until a node takes the resume."""
    async with asyncio.timeout(t(20)):
        while True:
            try:
                ws, welcome = await player(url, resume=session, last_seq=last_seq)
                if welcome.get("resumed"):
                    return ws, welcome
            except (ConnectionClosed, InvalidStatus, OSError, TimeoutError):
                pass
            await asyncio.sleep(0.1)  # the widget's reconnect delay, shortened


async def agent_back(url: str, token: str) -> tuple[WS, dict[str, Any]]:
    async with asyncio.timeout(t(20)):
        while True:
            try:
                return await agent(url, token)
            except (ConnectionClosed, InvalidStatus, OSError, TimeoutError):
                await asyncio.sleep(0.1)


async def acked(ws: WS, ids: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    while len(out) < len(ids):
        frame = await ws.recv(10)
        assert frame["type"] != "error", frame
        if frame["type"] == "ack":
            out[frame["id"]] = frame["seq"]
    return out
