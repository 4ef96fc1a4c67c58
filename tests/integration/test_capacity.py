"""Pairing against agent capacity over real WebSockets."""

from __future__ import annotations

from tests.support import RunningServer, agent, make_agent, start_chat


async def test_three_players_one_agent_with_max_two(server: RunningServer) -> None:
    """Two players are served, the third waits at position 1 and is paired when a chat ends."""
    token = await make_agent(server, "ayse", max_chats=2)
    a, _ = await agent(server, token)
    p1, _ = await start_chat(server, name="One")
    c1 = (await p1.expect("assigned"))["chat"]
    p2, _ = await start_chat(server, name="Two")
    c2 = (await p2.expect("assigned"))["chat"]
    p3, _ = await start_chat(server, name="Three")
    q = await p3.expect("queued")
    assert q["position"] == 1 and isinstance(q["eta_seconds"], int) and q["eta_seconds"] > 0
    assert {(await a.expect("assigned"))["chat"] for _ in range(2)} == {c1, c2}
    # still nothing for the third: the agent is full
    assert not [f for f in await a.barrier() if f["type"] == "assigned"]

    await a.send("end", chat=c1)
    await p1.expect("ended")
    c3 = (await p3.expect("assigned"))["chat"]
    assert (await a.expect("assigned"))["chat"] == c3
    assert server.hub.router.agents[1].active == 2


async def test_away_agent_keeps_chats_but_gets_no_new_ones(queue_server: RunningServer) -> None:
    """Going away stops new assignments; coming back online takes the waiting player."""
    token = await make_agent(queue_server, "ayse", max_chats=3)
    a, _ = await agent(queue_server, token)
    p1, _ = await start_chat(queue_server, name="One")
    c1 = (await p1.expect("assigned"))["chat"]
    await a.send("status", status="away")
    p2, _ = await start_chat(queue_server, name="Two")
    assert (await p2.expect("queued"))["eta_seconds"] is None  # nobody online serves
    await a.send("message", chat=c1, id="m", text="still with you")
    await p1.expect("message", id="m")
    await a.send("status", status="online")
    assert (await p2.expect("assigned"))["agent"]["name"] == "Ayse"


async def test_fewest_chats_agent_gets_the_next_player(server: RunningServer) -> None:
    """With two agents online, chats alternate so the load stays even."""
    a, _ = await agent(server, await make_agent(server, "ayse"))
    b, _ = await agent(server, await make_agent(server, "ali"))
    names = []
    for i in range(4):
        p, _ = await start_chat(server, name=f"P{i}")
        names.append((await p.expect("assigned"))["agent"]["name"])
    assert sorted(names) == ["Ali", "Ali", "Ayse", "Ayse"]


async def test_status_change_reaches_every_console_of_the_agent(server: RunningServer) -> None:
    """An agent with two consoles open sees a status change made in the other."""
    token = await make_agent(server, "ayse")
    a1, w1 = await agent(server, token)
    a2, w2 = await agent(server, token, status=None)
    assert w2["agent"]["status"] == "online"  # joins the status already chosen
    await a2.send("status", status="away")
    assert (await a1.expect("status"))["status"] == "away"
