"""Dropped players and agents come back with nothing lost and nothing doubled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from chatserver.core.conversation import ChatState
from tests.support import WS, RunningServer, agent, make_agent, player, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def paired(server: RunningServer, token: str) -> tuple[WS, dict, WS, str]:  # type: ignore[type-arg]
    a, _ = await agent(server, token)
    p, welcome = await start_chat(server)
    chat = (await p.expect("assigned"))["chat"]
    await a.expect("assigned", chat=chat)
    await p.expect("message", event="agent_joined")
    return p, welcome, a, chat


async def test_player_drop_and_resume_replays_what_was_missed(server: RunningServer) -> None:
    """Messages sent while the player was away arrive once, in order, after resume."""
    token = await make_agent(server, "ayse")
    p, welcome, a, chat = await paired(server, token)
    await p.send("message", id="p1", text="one")
    last = (await p.expect("ack", id="p1"))["seq"]
    await p.close()

    for i in range(3):
        await a.send("message", chat=chat, id=f"a{i}", text=f"reply {i}")
        await a.expect("ack", id=f"a{i}")

    p2, w2 = await player(server, resume=welcome["session"], last_seq=last)
    assert w2["resumed"] is True and w2["state"] == "active" and w2["chat"] == chat
    assert w2["agent"] == {"name": "Ayse"} and w2["last_seq"] == last + 3
    replayed = [await p2.expect("message") for _ in range(3)]
    assert [m["seq"] for m in replayed] == [last + 1, last + 2, last + 3]
    assert [m["text"] for m in replayed] == ["reply 0", "reply 1", "reply 2"]
    assert not [f for f in await p2.barrier() if f["type"] == "message"]  # nothing doubled

    # and the chat goes on live
    await a.send("message", chat=chat, id="a9", text="still here?")
    assert (await p2.expect("message", id="a9"))["seq"] == last + 4


async def test_resend_after_reconnect_is_acked_with_the_same_seq(server: RunningServer) -> None:
    """A message resent with the same id after a reconnect is stored once, acked with its seq."""
    token = await make_agent(server, "ayse")
    p, welcome, a, chat = await paired(server, token)
    await p.send("message", id="dup", text="did this arrive?")
    first = await p.expect("ack", id="dup")
    assert (await a.expect("message", id="dup"))["seq"] == first["seq"]
    await p.close()

    p2, _ = await player(server, resume=welcome["session"], last_seq=first["seq"])
    await p2.send("message", id="dup", text="did this arrive?")
    again = await p2.expect("ack", id="dup")
    assert again["seq"] == first["seq"]
    # the agent does not get it a second time
    assert not [f for f in await a.barrier() if f.get("id") == "dup"]
    await p2.send("end")
    number = (await p2.expect("ended"))["request_number"]

    from chatserver.core.requests import parse_request_number

    rec = await server.hub.store.request(parse_request_number(number))
    assert rec is not None
    assert [m.id for m in rec.messages].count("dup") == 1
    assert [m.seq for m in rec.messages] == list(range(1, len(rec.messages) + 1))


async def test_resume_without_last_seq_replays_everything(queue_server: RunningServer) -> None:
    """A client that lost its local state gets the whole chat again."""
    p, welcome = await start_chat(queue_server)
    await p.send("message", id="m1", text="first")
    await p.expect("ack", id="m1")
    await p.close()
    p2, w2 = await player(queue_server, resume=welcome["session"])
    assert w2["state"] == "queued"
    assert (await p2.expect("message"))["id"] == "m1"
    queued = await p2.expect("queued")
    assert queued["position"] == 1


async def test_two_tabs_share_one_session(server: RunningServer) -> None:
    """A second tab with the same session sees what the first one sends."""
    token = await make_agent(server, "ayse")
    tab1, welcome, a, chat = await paired(server, token)
    tab2, w2 = await player(server, resume=welcome["session"], last_seq=999)
    assert w2["chat"] == chat
    await tab1.send("message", id="t1", text="from tab one")
    ack = await tab1.expect("ack", id="t1")
    mirrored = await tab2.expect("message", id="t1")
    assert mirrored["seq"] == ack["seq"] and mirrored["from"] == "player"
    await a.send("message", chat=chat, id="x", text="to both")
    await tab1.expect("message", id="x")
    await tab2.expect("message", id="x")


async def test_unknown_resume_token_starts_a_new_session(server: RunningServer) -> None:
    """A token the server never issued gets a fresh session, marked not resumed."""
    _, w = await player(server, resume="css_made_up")
    assert w["resumed"] is False and w["state"] == "prechat" and w["session"] != "css_made_up"


async def test_ended_chat_is_reported_on_resume(server: RunningServer) -> None:
    """After the chat ended, a reconnecting player learns the request number and missed lines."""
    token = await make_agent(server, "ayse")
    p, welcome, a, chat = await paired(server, token)
    await p.close()
    await a.send("message", chat=chat, id="bye", text="closing now")
    await a.expect("ack", id="bye")
    await a.send("end", chat=chat)
    number = (await a.expect("ended", chat=chat))["request_number"]

    p2, w2 = await player(server, resume=welcome["session"], last_seq=1)
    assert w2["state"] == "ended" and w2["request_number"] == number and w2["chat"] == chat
    texts = [(await p2.expect("message"))["id"] for _ in range(2)]
    assert texts[0] == "bye"
    # a new chat can start from the same session
    await p2.send("prechat", name="Mehmet", email="m@x.io", topic="technical", age_confirmed=True)
    assert (await p2.expect("assigned"))["chat"] != chat


async def test_agent_drop_and_resume_within_grace(server: RunningServer) -> None:
    """An agent who reconnects in time keeps the chat and gets what they missed."""
    token = await make_agent(server, "ayse")
    p, _, a, chat = await paired(server, token)
    await a.send("message", chat=chat, id="a1", text="hello")
    seen = (await a.expect("ack", id="a1"))["seq"]
    await a.close()
    await p.send("message", id="p1", text="are you there?")
    await p.expect("ack", id="p1")

    a2, welcome = await agent(server, token, chats={chat: seen})
    assert [c["chat"] for c in welcome["chats"]] == [chat]
    assert [m["id"] for m in welcome["chats"][0]["history"]] == ["p1"]
    await a2.send("message", chat=chat, id="a2", text="yes")
    await p.expect("message", id="a2")


async def test_agent_grace_expiry_requeues_to_front(serve: Serve) -> None:
    """When the agent does not come back, the player is told and goes ahead of the queue."""
    async with serve(agent_grace_seconds=0.3, queue_without_agents=True) as server:
        t1 = await make_agent(server, "ayse", max_chats=1)
        first, _ = await start_chat(server, name="First")
        await first.expect("queued", position=1)
        a, _ = await agent(server, t1)
        chat = (await a.expect("assigned"))["chat"]
        await first.expect("message", event="agent_joined")
        later, _ = await start_chat(server, name="Later")
        await later.expect("queued", position=1)
        await a.close()

        left = await first.expect("message", event="agent_left", timeout=5)
        assert left["from"] == "system"
        assert (await first.expect("queued"))["position"] == 1
        await later.expect("queued", position=2)

        t2 = await make_agent(server, "ali", max_chats=1)
        b, _ = await agent(server, t2)
        taken = await b.expect("assigned")
        assert taken["chat"] == chat  # the requeued chat goes before the one that waited
        assert any(m["event"] == "agent_left" for m in taken["history"])


async def test_player_grace_expiry_ends_the_chat(serve: Serve) -> None:
    """A player who never comes back: the chat ends by the system with a request number."""
    async with serve(player_grace_seconds=0.3) as server:
        token = await make_agent(server, "ayse")
        p, _, a, chat = await paired(server, token)
        await p.close()
        ended = await a.expect("ended", chat=chat, timeout=5)
        assert ended["by"] == "system" and ended["reason"] == "player_left"
        assert chat not in server.hub.chats


async def test_queued_player_keeps_place_on_resume(queue_server: RunningServer) -> None:
    """A waiting player who reconnects is still at the same position."""
    first, _ = await start_chat(queue_server, name="First")
    await first.expect("queued", position=1)
    second, w = await start_chat(queue_server, name="Second")
    await second.expect("queued", position=2)
    await second.close()
    again, w2 = await player(queue_server, resume=w["session"], last_seq=0)
    assert w2["state"] == "queued"
    assert (await again.expect("queued"))["position"] == 2
    live = queue_server.hub.chats[w2["chat"]]
    assert live.conv.state is ChatState.QUEUED


async def test_silent_connections_are_closed(serve: Serve) -> None:
    """A client that stops sending (no ping) is closed with 1001; one that pings stays."""
    async with serve(idle_timeout_seconds=0.6) as server:
        silent, _ = await player(server)
        silent.answer_pings = False
        chatty, _ = await player(server)
        closed = asyncio.create_task(silent.closed(timeout=10))
        while not closed.done():
            await chatty.send("ping")
            await chatty.expect("pong")
            await asyncio.wait({closed}, timeout=0.1)
        assert closed.result() == 1001
        await chatty.send("ping")
        await chatty.expect("pong")


async def test_the_server_pings_and_a_client_that_only_answers_stays(serve: Serve) -> None:
    """Both endpoints: ``welcome`` announces the interval, pings come at it, and a client
    that sends nothing but ``pong`` outlives the idle timeout several times over."""
    async with serve(idle_timeout_seconds=0.6, ping_seconds=0.1) as server:
        p, welcome = await player(server)
        a, agent_welcome = await agent(server, await make_agent(server, "ayse"))
        p.answer_pings = a.answer_pings = False  # answered here, one by one
        assert welcome["ping_seconds"] == agent_welcome["ping_seconds"] == 0.1
        assert len(server.hub.heartbeats) == 2
        started = asyncio.get_running_loop().time()
        pings = 0
        while asyncio.get_running_loop().time() - started < 2.0:
            for ws in (p, a):
                await ws.expect("ping", timeout=1)
                await ws.send("pong")
            pings += 1
        assert pings >= 10  # about one every 0.1 s each (a slow machine may miss some)
        await p.send("ping")
        await p.expect("pong")
        assert [f for f in p.seen + a.seen if f["type"] == "error"] == []
        await a.close()
        await p.close()
        deadline = asyncio.get_running_loop().time() + 5
        while len(server.hub.heartbeats):
            assert asyncio.get_running_loop().time() < deadline, "closed sockets still pinged"
            await asyncio.sleep(0.01)


async def test_the_interval_fits_the_idle_timeout_and_zero_leaves_pings_to_clients(
    serve: Serve,
) -> None:
    async with serve(idle_timeout_seconds=3) as server:
        _, welcome = await player(server)
        assert welcome["ping_seconds"] == 1  # three pings per idle timeout at least
    async with serve(ping_seconds=0) as server:
        p, welcome = await player(server)
        assert "ping_seconds" not in welcome and len(server.hub.heartbeats) == 0
        await p.send("ping")
        await p.expect("pong")
