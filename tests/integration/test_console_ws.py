"""Console work over the agent socket: notes, transfers, resolutions, roster, floor, monitoring."""

from __future__ import annotations

from typing import Any

from tests.support import WS, RunningServer, agent, make_agent, start_chat


async def chat_with(server: RunningServer, a: WS, name: str = "Mehmet") -> tuple[WS, str]:
    p, _ = await start_chat(server, name=name)
    chat = (await p.expect("assigned"))["chat"]
    await a.expect("assigned", chat=chat)
    return p, chat


async def test_internal_notes_never_reach_the_player(server: RunningServer) -> None:
    """A note goes to every console on the chat and into the transcript, never to the player."""
    token = await make_agent(server, "ayse", name="Ayşe")
    a, _ = await agent(server, token)
    a2, _ = await agent(server, token, status=None)  # a second console of the same agent
    p, chat = await chat_with(server, a)
    await p.send("message", id="p1", text="hello")
    p1 = await a.expect("message", id="p1")

    await a.send("note", chat=chat, id="n1", text="VIP: be quick")
    note = await a.expect("note", id="n1")
    assert note["agent"] == {"id": 1, "name": "Ayşe"} and note["after_seq"] == p1["seq"]
    assert (await a2.expect("note", id="n1"))["text"] == "VIP: be quick"
    await a.send("note", chat=chat, id="n1", text="VIP: be quick")  # a resend
    assert not [f for f in await a.barrier() if f["type"] == "note"]
    # the player got nothing of it, and the next message seq has no gap
    assert not [f for f in await p.barrier() if "VIP" in str(f)]
    await a.send("message", chat=chat, id="a1", text="Hi!")
    assert (await p.expect("message", id="a1"))["seq"] == p1["seq"] + 1

    # a reconnecting console gets the notes in welcome
    a3, welcome = await agent(server, token, status=None)
    assert [n["id"] for n in welcome["chats"][0]["notes"]] == ["n1"]

    await a.send("end", chat=chat)
    number = (await a.expect("ended", chat=chat))["request_number"]
    rec = await server.hub.store.request(number.replace("-", ""))
    assert rec is not None and [n.text for n in rec.notes] == ["VIP: be quick"]


async def test_transfer_to_another_agent(server: RunningServer) -> None:
    """The chat moves with its history and notes; the player is told; the first agent lets go."""
    a, _ = await agent(server, await make_agent(server, "ayse"))
    b, _ = await agent(server, await make_agent(server, "ali", max_chats=1))
    p, chat = await chat_with(server, a)
    await p.send("message", id="p1", text="I need finance")
    await a.expect("message", id="p1")
    await a.send("note", chat=chat, id="n1", text="asked for finance")
    await a.expect("note", id="n1")

    await a.send("transfer", chat=chat, to=2)
    assert (await a.expect("unassigned", chat=chat))["reason"] == "transferred"
    got = await b.expect("assigned", chat=chat)
    assert [m["text"] for m in got["history"] if m["from"] == "player"] == ["I need finance"]
    assert [n["text"] for n in got["notes"]] == ["asked for finance"]
    assert (await p.expect("assigned"))["agent"] == {"name": "Ali"}
    moved = await p.expect("message", event="transferred")
    assert moved["name"] == "Ali"

    await p.send("message", id="p2", text="still there?")
    await b.expect("message", id="p2")
    assert not [f for f in await a.barrier() if f.get("id") == "p2"]
    await a.send("message", chat=chat, id="late", text="me again")
    await a.expect_error("not_your_chat")
    slots = server.hub.router.agents
    assert (slots[1].active, slots[2].active) == (0, 1)

    # Ali is full now: another transfer to him is refused, and so is one to nobody
    p2, chat2 = await chat_with(server, a, name="Second")
    await a.send("transfer", chat=chat2, to=2)
    err = await a.expect_error("agent_unavailable")
    assert err["chat"] == chat2 and "no room" in err["message"]
    await a.send("transfer", chat=chat2, to=99)
    await a.expect_error("agent_unavailable")
    await a.send("transfer", chat=chat2, to=1)  # yourself
    await a.expect_error("agent_unavailable")


async def test_transfer_to_an_away_agent_is_refused(server: RunningServer) -> None:
    """Only online agents can receive a transfer."""
    a, _ = await agent(server, await make_agent(server, "ayse"))
    await agent(server, await make_agent(server, "ali"), status="away")
    _, chat = await chat_with(server, a)
    await a.send("transfer", chat=chat, to=2)
    assert "not online" in (await a.expect_error("agent_unavailable"))["message"]


async def test_back_to_the_queue_avoids_the_agent_who_sent_it(queue_server: RunningServer) -> None:
    """A chat sent back waits at the front for someone else; the sender gets the next one."""
    server = queue_server
    a, _ = await agent(server, await make_agent(server, "ayse", max_chats=2))
    p, chat = await chat_with(server, a)
    await a.send("transfer", chat=chat)
    assert (await a.expect("unassigned", chat=chat))["reason"] == "requeued"
    assert (await p.expect("message", event="requeued"))["from"] == "system"
    assert (await p.expect("queued"))["position"] == 1
    p2, chat2 = await chat_with(server, a, name="Next")  # Ayse takes the next one instead
    assert server.hub.chats[chat].conv.state.value == "queued"
    b, _ = await agent(server, await make_agent(server, "ali"))
    assert (await b.expect("assigned"))["chat"] == chat


async def test_end_with_a_resolution(server: RunningServer) -> None:
    """The agent records a resolution and a note; unknown resolutions are refused."""
    token = await make_agent(server, "ayse")
    a, welcome = await agent(server, token)
    assert "resolved" in welcome["resolutions"]
    p, chat = await chat_with(server, a)
    await a.send("end", chat=chat, resolution="fixed_it")
    err = await a.expect_error("unknown_resolution")
    assert err["field"] == "resolution" and err["chat"] == chat
    await a.send("end", chat=chat, resolution="escalated", note="  to finance team  ")
    number = (await p.expect("ended"))["request_number"]
    rec = await server.hub.store.request(number.replace("-", ""))
    assert rec is not None and (rec.resolution, rec.resolution_note) == (
        "escalated",
        "to finance team",
    )


async def test_roster_and_floor_for_supervisors(server: RunningServer) -> None:
    """Anyone may ask who is online; only supervisors watch the floor and monitor chats."""
    a, _ = await agent(server, await make_agent(server, "ayse"))
    sup, _ = await agent(
        server, await make_agent(server, "selin", role="supervisor"), status="away"
    )
    p, chat = await chat_with(server, a)

    await a.send("roster")
    roster = (await a.expect("roster"))["agents"]
    assert {(r["name"], r["status"], r["active"]) for r in roster} == {
        ("Ayse", "online", 1),
        ("Selin", "away", 0),
    }
    await a.send("floor", watch=True)
    await a.expect_error("forbidden")
    await a.send("monitor", chat=chat)
    await a.expect_error("forbidden")

    await sup.send("floor", watch=True)
    floor: dict[str, Any] = await sup.expect("floor")
    assert floor["queue"] == {"length": 0, "longest_wait": 0}
    assert floor["chats"]["active"] == 1
    assert [c["chat"] for c in floor["live"]] == [chat]
    assert set(floor["today"]) == {"avg_first_response", "avg_handle", "avg_rating", "ratings"}

    await sup.send("monitor", chat=chat)
    watching = await sup.expect("monitoring", chat=chat)
    assert watching["player"]["name"] == "Mehmet"
    await p.send("message", id="p1", text="hi")
    assert (await sup.expect("message", id="p1"))["chat"] == chat
    await a.send("note", chat=chat, id="n1", text="note for the supervisor")
    await sup.expect("note", id="n1")
    await sup.send("message", chat=chat, id="s1", text="butting in")
    await sup.expect_error("not_your_chat")  # monitoring is read-only
    await sup.send("unmonitor", chat=chat)
    await p.send("message", id="p2", text="after unmonitor")
    await a.expect("message", id="p2")
    assert not [f for f in await sup.barrier() if f.get("id") == "p2"]
    await sup.send("monitor", chat="c_missing")
    await sup.expect_error("chat_not_found")
    watched = await server.hub.store.audit_search(action="chat.monitor", target=chat)
    assert len(watched) == 1 and watched[0].actor.startswith("agent:")


async def test_supervisors_monitor_only_their_departments(server: RunningServer) -> None:
    """A finance supervisor cannot watch a technical chat: it does not exist for them."""
    a, _ = await agent(server, await make_agent(server, "ayse"))
    boss = await make_agent(server, "selin", role="supervisor", departments=("finance",))
    sup, _ = await agent(server, boss, status="away")
    _, chat = await chat_with(server, a)
    await sup.send("monitor", chat=chat)
    await sup.expect_error("chat_not_found")
    await sup.send("floor", watch=True)
    floor = await sup.expect("floor")
    assert floor["chats"]["active"] == 1 and floor["live"] == []  # counted, not shown


async def test_the_floor_counts_today(server: RunningServer) -> None:
    """Ended chats, handling times and ratings of today appear on the floor."""
    a, _ = await agent(server, await make_agent(server, "ayse"))
    sup, _ = await agent(server, await make_agent(server, "selin", role="admin"), status="away")
    p, chat = await chat_with(server, a)
    await a.send("message", chat=chat, id="a1", text="hi")
    await a.expect("ack", id="a1")
    await p.send("end")
    await p.expect("ended")
    await p.send("rate", resolved=True, rating=4)
    await p.expect("rated")
    await sup.send("floor", watch=True)
    floor = await sup.expect("floor")
    assert floor["chats"] == {"active": 0, "ended_today": 1}
    assert floor["today"]["avg_rating"] == 4 and floor["today"]["ratings"] == 1
    assert floor["today"]["avg_first_response"] is not None
