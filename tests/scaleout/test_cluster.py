"""Several real nodes (``python -m chatserver serve`` processes on their own ports),
one real redis-server of the test's own, and a fresh PostgreSQL database.

The first node to start runs the hub; the others are edges that tunnel their clients
to it. Clients here connect to whichever node a test says, as a load balancer
without sticky sessions would send them.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from typing import Any

import httpx

from chatserver.store.postgres import PostgresStore
from tests.cluster import METRICS_TOKEN, Cluster, acked, agent_back, pair, resume
from tests.redis_server import RedisServer
from tests.support import WS, ServerProcess, agent, free_port, player, samples, t


async def test_a_player_on_one_node_chats_with_an_agent_on_another(cluster: Cluster) -> None:
    """Player on an edge node, agent on the hub node, and the other way round; HTTP too."""
    hub = await cluster.node("hub")
    edge = await cluster.node("edge")
    ready = await cluster.ready(edge, "edge")
    hub_id = (await cluster.ready(hub, "hub"))["node"]
    assert ready["hub"] == hub_id
    assert any(f"node {hub_id}, runs the hub" in line for line in hub.output)
    assert any("an edge (the hub is" in line for line in edge.output)

    ayse = await cluster.agent_token("ayse")
    a, _ = await agent(hub.ws, ayse)
    p, _, chat = await pair(edge.ws, a)
    await p.send("message", id="p1", text="merhaba from the edge")
    assert (await p.expect("ack", id="p1"))["seq"] > 0
    assert (await a.expect("message", id="p1"))["text"] == "merhaba from the edge"
    await a.send("message", chat=chat, id="a1", text="hello from the hub")
    await a.expect("ack", id="a1")
    assert (await p.expect("message", id="a1"))["text"] == "hello from the hub"

    # and the other way round: the agent's console on the edge, the player on the hub
    mert = await cluster.agent_token("mert")
    await a.send("status", status="away")
    m, _ = await agent(edge.ws, mert)
    p2, _, chat2 = await pair(hub.ws, m)
    await m.send("message", chat=chat2, id="m1", text="from a tunnelled console")
    await m.expect("ack", id="m1", chat=chat2)
    await p2.expect("message", id="m1")

    # HTTP through the edge reaches the hub (the edge passes it on)
    async with httpx.AsyncClient() as client:
        via_edge = await client.get(edge.url + "/api/topics")
        direct = await client.get(hub.url + "/api/topics")
    assert via_edge.status_code == 200 and via_edge.json() == direct.json()
    assert [r[1] for r in await cluster.stored(chat) if r[2] != "system"] == ["p1", "a1"]

    # /metrics: each node answers for itself; the hub counts every client, tunnelled or not
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with httpx.AsyncClient() as client:
        on_edge = samples((await client.get(edge.url + "/metrics", headers=auth)).text)
        on_hub = samples((await client.get(hub.url + "/metrics", headers=auth)).text)
    assert on_edge[("chatserver_node_role", (("role", "edge"),))] == 1
    assert on_edge[("chatserver_edge_tunnels", ())] == 2  # p and m
    assert not any(name == "chatserver_connections" for name, _ in on_edge)
    assert on_hub[("chatserver_node_role", (("role", "hub"),))] == 1
    assert on_hub[("chatserver_connections", (("kind", "player"),))] == 2
    assert on_hub[("chatserver_connections", (("kind", "agent"),))] == 2
    assert on_hub[("chatserver_messages_stored_total", (("sender", "player"),))] == 1


async def test_a_pairing_storm_across_three_nodes(cluster: Cluster) -> None:
    """40 players arrive at once on three nodes with 6 agents (2 chats each) spread over
    them: 12 pairings, no player given twice, no agent over capacity, 28 queued."""
    nodes = [await cluster.node("hub"), await cluster.node("edge"), await cluster.node("edge")]
    for n in nodes[1:]:
        await cluster.ready(n, "edge")
    agents = []
    for i in range(6):
        token = await cluster.agent_token(f"agent{i}", max_chats=2)
        ws, _ = await agent(nodes[i % 3].ws, token)
        agents.append(ws)

    async def arrive(i: int) -> tuple[WS, dict[str, Any]]:
        p, _ = await player(nodes[i % 3].ws)
        await p.send("prechat", name=f"P{i}", email=f"p{i}@x.io", topic="bonus", age_confirmed=True)
        while True:  # the hub's first word: queued, or assigned at once
            frame = await p.recv(10)
            if frame["type"] in ("queued", "assigned"):
                return p, frame

    players = await asyncio.gather(*(arrive(i) for i in range(40)))

    def assigned(ws: WS) -> list[str]:
        return [f["chat"] for f in ws.seen if f["type"] == "assigned"]

    async with asyncio.timeout(t(10)):  # the pump may still be pairing: wait for 12
        while sum(len(assigned(a)) for a in agents) < 12:
            await asyncio.gather(*(a.barrier() for a in agents))
    await asyncio.gather(*(a.barrier() for a in agents))  # and nothing more comes
    await asyncio.gather(*(p.barrier() for p, _ in players))
    chats = [c for a in agents for c in assigned(a)]
    per_agent = Counter(i for i, a in enumerate(agents) for _ in assigned(a))
    assigned_to_players = [c for p, _ in players for c in assigned(p)]
    assert len(chats) == len(set(chats)) == 12
    assert sorted(assigned_to_players) == sorted(chats)
    assert max(per_agent.values()) == 2 and len(per_agent) == 6
    async with httpx.AsyncClient() as client:
        r = await client.get(nodes[2].url + "/readyz")  # an edge answers for itself …
        h = await client.get(nodes[0].url + "/readyz")  # … the hub for the queue
    assert r.json()["role"] == "edge" and h.json()["queued"] == 28


async def test_kill_9_of_the_hub_node_mid_chat(cluster: Cluster) -> None:
    """The hub node dies; an edge takes the hub over from the store; the player and the
    agent (both on the edge) resume there with every acked message, none doubled."""
    hub = await cluster.node("hub")
    edge = await cluster.node("edge")
    token = await cluster.agent_token("ayse")
    a, _ = await agent(edge.ws, token)
    p, welcome, chat = await pair(edge.ws, a)
    ids = [f"m{i}" for i in range(10)]
    for i in ids[:5]:
        await p.send("message", id=i, text=f"text {i}")
    first = await acked(p, ids[:5])

    assert await hub.stop(signal.SIGKILL) == -signal.SIGKILL
    await cluster.ready(edge, "hub")  # it took the claim and restored the chats
    assert await p.closed() == 1012  # its tunnel to the dead hub was closed: reconnect

    p2, w2 = await resume(edge.ws, welcome["session"], last_seq=0)
    assert w2["chat"] == chat and w2["state"] == "active"
    replayed = [await p2.expect("message") for _ in range(w2["last_seq"])]
    assert {m["id"]: m["seq"] for m in replayed if m["id"] in first} == first
    # the widget resends what it has no ack for, and everything else is new
    for i in ids:
        await p2.send("message", id=i, text=f"text {i}")
    final = await acked(p2, ids)
    assert {i: final[i] for i in first} == first  # resends are idempotent

    a2, aw = await agent_back(edge.ws, token)
    assert [c["chat"] for c in aw["chats"]] == [chat]
    await a2.send("message", chat=chat, id="after", text="still here")
    await p2.expect("message", id="after")
    stored = await cluster.stored(chat)
    player_ids = [cid for _, cid, sender in stored if sender == "player"]
    assert sorted(player_ids) == sorted(ids)  # each exactly once
    assert [seq for seq, _, _ in stored] == list(range(1, len(stored) + 1))


async def test_kill_9_of_an_edge_node_mid_chat(cluster: Cluster) -> None:
    """The player's node dies; the player resumes on another edge; nothing is lost."""
    hub = await cluster.node("hub")
    edge1 = await cluster.node("edge")
    edge2 = await cluster.node("edge")
    token = await cluster.agent_token("ayse")
    a, _ = await agent(hub.ws, token)
    p, welcome, chat = await pair(edge1.ws, a)
    await p.send("message", id="before", text="before the crash")
    seq = (await p.expect("ack", id="before"))["seq"]
    await a.expect("message", id="before")

    assert await edge1.stop(signal.SIGKILL) == -signal.SIGKILL
    await a.send("message", chat=chat, id="during", text="are you there?")
    await a.expect("ack", id="during")

    p2, w2 = await resume(edge2.ws, welcome["session"], last_seq=seq)
    assert w2["chat"] == chat
    assert (await p2.expect("message", id="during"))["text"] == "are you there?"
    await p2.send("message", id="after", text="back, on another node")
    await p2.expect("ack", id="after")
    await a.expect("message", id="after")
    # the hub dropped the dead edge's connections (its presence expired)
    async with httpx.AsyncClient() as client, asyncio.timeout(t(10)):
        while (await client.get(hub.url + "/readyz")).json()["edges"] != 1:
            await asyncio.sleep(0.05)  # polling a condition, with a deadline


async def test_a_redis_restart_mid_chat(cluster: Cluster, redis: RedisServer) -> None:
    """Redis restarts: tunnels are dropped, clients come back through the same edge and
    resume; the agent on the hub node never noticed; nothing is lost."""
    hub = await cluster.node("hub")
    edge = await cluster.node("edge")
    token = await cluster.agent_token("ayse")
    a, _ = await agent(hub.ws, token)
    p, welcome, chat = await pair(edge.ws, a)
    await p.send("message", id="before", text="before")
    seq = (await p.expect("ack", id="before"))["seq"]

    await redis.restart()  # an empty Redis on the same port
    assert await p.closed() == 1012
    await a.send("message", chat=chat, id="meanwhile", text="sent while Redis was away")
    await a.expect("ack", id="meanwhile")
    await cluster.ready(edge, "edge")
    p2, _ = await resume(edge.ws, welcome["session"], last_seq=seq)
    await p2.expect("message", id="meanwhile")
    await p2.send("message", id="after", text="after")
    await p2.expect("ack", id="after")
    await a.expect("message", id="after")
    ids = [cid for _, cid, sender in await cluster.stored(chat) if sender != "system"]
    assert ids == ["before", "meanwhile", "after"]


async def test_a_rolling_restart_hands_the_hub_over(cluster: Cluster) -> None:
    """SIGTERM on the hub node: it tells tunnelled clients to reconnect, stops cleanly, and
    the edge takes over at once; a new node started afterwards joins as an edge."""
    hub = await cluster.node("hub")
    edge = await cluster.node("edge")
    token = await cluster.agent_token("ayse")
    a, _ = await agent(edge.ws, token)
    p, welcome, chat = await pair(edge.ws, a)
    await p.send("message", id="m1", text="before the deploy")
    seq = (await p.expect("ack", id="m1"))["seq"]

    assert await hub.stop() == -signal.SIGTERM
    assert any("stopped cleanly" in line for line in hub.output)
    assert await p.closed() == 1012 and await a.closed() == 1012
    await cluster.ready(edge, "hub")
    newcomer = await cluster.node("edge")  # the restarted node comes back as an edge

    p2, w2 = await resume(newcomer.ws, welcome["session"], last_seq=seq)
    assert w2["chat"] == chat and w2["state"] == "active"
    a2, aw = await agent_back(edge.ws, token)
    assert [c["chat"] for c in aw["chats"]] == [chat]
    await p2.send("message", id="m2", text="after the deploy")
    await p2.expect("ack", id="m2")
    assert (await a2.expect("message", id="m2"))["text"] == "after the deploy"


async def test_an_edge_refuses_clearly_while_no_hub_is_known(cluster: Cluster) -> None:
    """No hub node (something else holds the claim): an edge says so, 503 and close 1013,
    and takes the hub over as soon as the claim is free."""
    holder = PostgresStore(cluster.db_url)
    await holder.open()
    try:
        assert await holder.claim(0)
        proc = ServerProcess(cluster.tmp / "unused.db", "--port", str(free_port()), env=cluster.env)
        edge = await proc.start()
        cluster.nodes.append(edge)
        async with httpx.AsyncClient() as client:
            r = await client.get(edge.url + "/readyz")
            topics = await client.get(edge.url + "/api/topics")
        assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"
        assert r.json()["error"]["role"] == "edge" and r.json()["error"]["hub"] is None
        assert topics.status_code == 503 and topics.headers["retry-after"] == "2"
        assert topics.json()["error"]["code"] == "service_unavailable"
        ws = await WS.open(f"{edge.ws}/ws/player")
        assert await ws.closed() == 1013
    finally:
        await holder.close()
    await cluster.ready(edge, "hub")  # the claim is free: the edge takes the hub over


async def test_the_console_and_uploads_work_through_an_edge(cluster: Cluster) -> None:
    """Sign in, the cookie-authenticated agent socket and a player's upload, all via an
    edge; a cookieless client through the same edge is not signed in."""
    from tests.integration.test_console_http import sign_in
    from tests.integration.test_files import png

    await cluster.node("hub")
    edge = await cluster.node("edge")
    await cluster.agent_token("ayse")  # password: correct horse battery
    async with httpx.AsyncClient(base_url=edge.url) as http:
        r = await sign_in(http, "ayse", "correct horse battery")
        assert r.status_code == 303 and r.headers["location"] == "/console"
        assert "HttpOnly" in r.headers["set-cookie"]
        assert (await http.get("/console")).status_code == 200
        cookie = http.cookies["cs_session"]
    # the edge forwards with no client state: a request without a cookie is signed out
    # (the hub's Set-Cookie for ayse was not kept and sent on with it; issue 18, 13)
    for _ in range(3):
        async with httpx.AsyncClient(base_url=edge.url) as anonymous:
            r = await anonymous.get("/console")
            assert r.status_code == 303 and r.headers["location"].startswith("/console/login")
    a = await WS.open(
        f"{edge.ws}/ws/agent",
        origin=edge.url,
        additional_headers={"Cookie": f"cs_session={cookie}"},
    )
    await a.send("hello", v=1, status="online")
    assert (await a.expect("welcome"))["agent"]["username"] == "ayse"
    p, welcome, chat = await pair(edge.ws, a)
    async with httpx.AsyncClient(base_url=edge.url, timeout=30) as http:
        r = await http.post(
            f"/api/chats/{chat}/files",
            files={"file": ("photo.png", png(), "image/png")},
            headers={"Authorization": f"Session {welcome['session']}"},
        )
        assert r.status_code == 201, r.text
        shown = await a.expect("message", id=r.json()["id"])
        download = await http.get(
            shown["file"]["url"], headers={"Authorization": f"Session {welcome['session']}"}
        )
    assert download.status_code == 200 and download.content.startswith(b"\x89PNG")


async def test_an_edge_keeps_its_clients_heartbeats(cluster: Cluster) -> None:
    """The edge answers pings and closes silent clients itself; the hub, which no longer
    sees those pings, keeps the tunnels of a live edge open."""
    cluster.env["CHATSERVER_IDLE_TIMEOUT_SECONDS"] = "2"  # four of the tests' heartbeats
    await cluster.node("hub")
    edge = await cluster.node("edge")
    silent, _ = await player(edge.ws)
    alive, _ = await player(edge.ws)
    started = time.monotonic()
    while time.monotonic() - started < 4.5:  # over two idle timeouts, pinging as widgets do
        await alive.send("ping")
        await alive.expect("pong")
        await asyncio.sleep(0.5)  # the client's ping interval, scaled down with the timeout
    assert await silent.closed() == 1001
    assert (await alive.barrier()) == []  # still open, still answered


async def test_an_edge_pings_its_clients_and_takes_their_pongs(cluster: Cluster) -> None:
    """Through an edge, ``welcome`` (from the hub) announces the edge's interval; the edge
    pings, and a client that sends nothing but ``pong`` outlives the idle timeout (the edge
    keeps the pongs: the hub counts its tunnels alive at the edge's beats)."""
    cluster.env["CHATSERVER_IDLE_TIMEOUT_SECONDS"] = "1.5"  # pings every 0.5 s
    await cluster.node("hub")
    edge = await cluster.node("edge")
    answering, welcome = await player(edge.ws)
    silent, _ = await player(edge.ws)
    silent.answer_pings = False
    answering.answer_pings = False  # answered here, one by one
    assert welcome["ping_seconds"] == 0.5
    started, pings = time.monotonic(), 0
    while time.monotonic() - started < 4.5:  # three idle timeouts
        await answering.expect("ping", timeout=2)
        await answering.send("pong")
        pings += 1
    assert pings >= 6
    assert await silent.closed() == 1001
    assert [f for f in answering.seen if f["type"] == "error"] == []
    answering.answer_pings = True
    assert (await answering.barrier()) == []  # still open, still answered


async def test_a_hub_that_loses_its_claim_stops(cluster: Cluster) -> None:
    """Fencing: if the hub node's claim connection is cut, it exits (status 1) rather than
    run beside the node that takes the claim over."""
    from chatserver.store.postgres import _SERVER_LOCK

    hub = await cluster.node("hub")
    edge = await cluster.node("edge")
    [(cut,)] = await cluster.query(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
        " AND classid = 0 AND objid = $1 AND granted",
        _SERVER_LOCK,
    )
    assert cut
    assert hub.proc is not None
    assert await asyncio.wait_for(hub.proc.wait(), t(10)) == 1  # it noticed, and stopped
    await hub.stop()  # collects its output
    assert any("lost the database claim" in line for line in hub.output)
    await cluster.ready(edge, "hub")


async def test_a_waiting_edge_survives_losing_its_database_connection(cluster: Cluster) -> None:
    """An edge's wait for the claim is cut (the database restarted, say): it waits again,
    and still takes the hub over when the hub node dies."""
    hub = await cluster.node("hub")
    edge = await cluster.node("edge")
    [(cut,)] = await cluster.query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = 'chatserver-claim' AND pid NOT IN"
        " (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
    )
    assert cut == 1  # the edge's
    assert await hub.stop(signal.SIGKILL) == -signal.SIGKILL
    await cluster.ready(edge, "hub")
    assert edge.proc is not None and edge.proc.returncode is None
    assert any("waiting for the hub's claim failed" in line for line in edge.output)
