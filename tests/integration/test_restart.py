"""Crash and restart: a server process killed mid-chat loses no acknowledged message."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

from tests.support import WS, ServerProcess, agent, player, t


async def cli(*args: str, stdin: str = "") -> str:
    """Run ``python -m chatserver ...`` and return its stdout; fails on a non-zero exit."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "chatserver",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), t(30))
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def agent_token(db: Path, username: str = "ayse") -> str:
    await cli("agent", "add", username, "--db", str(db), "--password-stdin", stdin="s3cret-pass\n")
    return (await cli("token", "create", username, "--db", str(db))).strip()


async def chat_under_way(
    server: ServerProcess, token: str, topic: str = "bonus"
) -> tuple[WS, WS, dict[str, Any], str]:
    """An agent and a player paired on the server; returns agent, player, welcome, chat id."""
    a, _ = await agent(server.ws, token)
    p, welcome = await player(server.ws)
    await p.send("prechat", name="Mehmet", email="m@x.io", topic=topic, age_confirmed=True)
    chat = (await p.expect("assigned"))["chat"]
    await a.expect("assigned", chat=chat)
    return a, p, welcome, chat


def stored(db: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT seq, client_id, sender FROM messages ORDER BY seq").fetchall()


async def test_kill_9_mid_burst_loses_no_acked_message(tmp_path: Path) -> None:
    """Acked messages survive SIGKILL; resending everything is idempotent after the restart."""
    db = tmp_path / "chat.db"
    token = await agent_token(db)
    server = await ServerProcess(db).start()
    try:
        a, p, welcome, chat = await chat_under_way(server, token)

        # pipeline 15 messages (within the rate limit), then kill the server mid-stream
        ids = [f"m{i:02d}" for i in range(15)]
        for i in ids:
            await p.send("message", id=i, text=f"text {i}")
        acked: dict[str, int] = {}
        while len(acked) < 5:
            frame = await p.recv()
            if frame["type"] == "ack":
                acked[frame["id"]] = frame["seq"]
        assert await server.stop(signal.SIGKILL) == -signal.SIGKILL
    finally:
        await server.stop(signal.SIGKILL)

    rows = stored(db)
    for cid, seq in acked.items():
        assert (seq, cid, "player") in rows  # every acked message is on disk
    seqs = [r[0] for r in rows]
    assert seqs == list(range(1, len(seqs) + 1))  # no gaps

    server = await ServerProcess(db).start()
    try:
        p2, w2 = await player(server.ws, resume=welcome["session"], last_seq=0)
        assert w2["resumed"] is True and w2["state"] == "active" and w2["chat"] == chat
        replayed = {}
        for _ in range(w2["last_seq"]):
            m = await p2.expect("message")
            replayed[m["id"]] = m["seq"]
        for cid, seq in acked.items():
            assert replayed[cid] == seq
        # the widget resends everything it has no ack for; acked ones must not double
        for i in ids:
            await p2.send("message", id=i, text=f"text {i}")
        final: dict[str, int] = {}
        while len(final) < len(ids):
            frame = await p2.recv()
            assert frame["type"] != "error", frame
            if frame["type"] == "ack":
                final[frame["id"]] = frame["seq"]
        for cid, seq in acked.items():
            assert final[cid] == seq
        a2, aw = await agent(server.ws, token)
        assert [c["chat"] for c in aw["chats"]] == [chat]
    finally:
        assert await server.stop() == -signal.SIGTERM  # uvicorn re-raises it after shutting down
    assert any("stopped cleanly" in line for line in server.output)

    rows = stored(db)
    player_ids = [r[1] for r in rows if r[2] == "player"]
    assert sorted(player_ids) == sorted(ids)  # each exactly once
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))


async def test_sigterm_tells_clients_to_reconnect_and_keeps_state(tmp_path: Path) -> None:
    """SIGTERM closes sockets with 1012, exits 0, and the chat is there after the restart."""
    db = tmp_path / "chat.db"
    token = await agent_token(db)
    server = await ServerProcess(db).start()
    try:
        a, p, welcome, chat = await chat_under_way(server, token, "technical")
        await p.send("message", id="before", text="before the restart")
        seq = (await p.expect("ack", id="before"))["seq"]
        stopping = asyncio.create_task(server.stop(signal.SIGTERM))
        assert await p.closed() == 1012
        assert await a.closed() == 1012
        assert await stopping == -signal.SIGTERM
        assert any("stopped cleanly" in line for line in server.output)
    finally:
        await server.stop(signal.SIGKILL)

    server = await ServerProcess(db).start()
    try:
        p2, w2 = await player(server.ws, resume=welcome["session"], last_seq=seq)
        assert (w2["state"], w2["chat"], w2["last_seq"]) == ("active", chat, seq)
        a2, aw = await agent(server.ws, token)
        assert aw["chats"][0]["chat"] == chat
        await a2.send("message", chat=chat, id="after", text="back again")
        assert (await p2.expect("message", id="after"))["seq"] == seq + 1
    finally:
        await server.stop()
