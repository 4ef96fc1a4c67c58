"""/metrics: off unless a token is set, behind that token, and its figures follow the hub."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from tests.support import RunningServer, agent, make_agent, player, samples, start_chat

TOKEN = "metrics-token-of-the-test-0123456789"


async def scrape(srv: RunningServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient(base_url=srv.http) as http:
        r = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


async def test_metrics_are_off_without_a_token(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.get("/metrics", headers={"Authorization": "Bearer anything-at-all-here"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "metrics_disabled"


async def test_metrics_want_the_token(
    serve: Callable[..., AbstractAsyncContextManager[RunningServer]],
) -> None:
    async with serve(metrics_token=TOKEN) as srv, httpx.AsyncClient(base_url=srv.http) as http:
        r = await http.get("/metrics")
        assert r.status_code == 401 and r.json()["error"]["code"] == "auth_required"
        assert r.headers["www-authenticate"] == "Bearer"
        r = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN[:-1]}x"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
        r = await http.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "auth_required"


async def test_metrics_follow_a_chat(
    serve: Callable[..., AbstractAsyncContextManager[RunningServer]],
) -> None:
    """A queued player, then an agent who takes the chat, then messages both ways."""
    async with serve(metrics_token=TOKEN, queue_without_agents=True) as srv:
        before = await scrape(srv)
        assert before[("chatserver_node_role", (("role", "single"),))] == 1
        assert before[("chatserver_connections", (("kind", "player"),))] == 0
        assert before[("chatserver_messages_stored_total", (("sender", "player"),))] == 0
        assert before[("process_open_fds", ())] > 0

        p, _ = await start_chat(srv)
        await p.expect("queued")
        now = await scrape(srv)
        assert now[("chatserver_connections", (("kind", "player"),))] == 1
        assert now[("chatserver_chats", (("state", "queued"),))] == 1
        assert now[("chatserver_queue_length", (("department", "technical"),))] == 1
        assert now[("chatserver_prechat_waiting", ())] == 0  # its turn came and went
        assert now[("chatserver_agents", (("status", "online"),))] == 0

        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        chat = (await a.expect("assigned"))["chat"]
        await p.send("message", id="p1", text="hello")
        await p.expect("ack", id="p1")
        await a.send("message", chat=chat, id="a1", text="hi, how can I help?")
        await a.expect("ack", id="a1")
        await p.expect("message", id="a1")
        after = await scrape(srv)

    def n(name: str, **labels: Any) -> float:
        return after[(name, tuple(sorted(labels.items())))]

    assert n("chatserver_connections", kind="agent") == 1
    assert n("chatserver_chats", state="queued") == 0 and n("chatserver_chats", state="active") == 1
    assert n("chatserver_queue_length", department="technical") == 0
    assert n("chatserver_agents", status="online") == 1
    assert n("chatserver_messages_stored_total", sender="player") == 1
    assert n("chatserver_messages_stored_total", sender="agent") == 1
    assert n("chatserver_messages_stored_total", sender="system") == 1  # "agent joined"
    # every stored message was timed, each falls in one bucket, and the buckets add up
    assert n("chatserver_message_commit_seconds_count") == 3
    assert n("chatserver_message_commit_seconds_bucket", le="+Inf") == 3
    assert 0 < n("chatserver_message_commit_seconds_sum") < 3 * 5.0
    assert n("chatserver_queue_wait_seconds_count") == 1
    assert n("chatserver_store_commits_total") >= 3
    assert n("chatserver_store_commit_seconds_count") == n("chatserver_store_commits_total")
    assert n("chatserver_store_writes_total") >= n("chatserver_store_commits_total")
    assert n("chatserver_store_failed") == 0


async def test_a_chat_an_agent_is_free_for_is_stored_and_given_in_one_commit(
    serve: Callable[..., AbstractAsyncContextManager[RunningServer]],
) -> None:
    """The session, the chat, its assignment and "agent joined" share one transaction,
    and the player hears ``assigned`` without a ``queued`` before it."""
    async with serve(metrics_token=TOKEN) as srv:
        a, _ = await agent(srv, await make_agent(srv, "ayse"))
        p, _ = await player(srv)
        await p.barrier()
        before = await scrape(srv)
        mark = len(p.seen)
        await p.send(
            "prechat", name="Mehmet", topic="technical", email="m@example.com", age_confirmed=True
        )
        await a.expect("assigned")
        await p.expect("message", event="agent_joined")
        assert [f["type"] for f in p.seen[mark:]] == ["assigned", "message"]
        after = await scrape(srv)

    def grew(name: str) -> float:
        return after[(name, ())] - before[(name, ())]

    assert grew("chatserver_store_commits_total") == 1
    assert grew("chatserver_store_writes_total") == 4
