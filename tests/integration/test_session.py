"""A whole chat session over real WebSockets against a real uvicorn server."""

from __future__ import annotations

import httpx

from chatserver.core.requests import parse_request_number
from tests.support import RunningServer, agent, make_agent, player, start_chat


async def test_full_session_player_to_agent_with_request_number(server: RunningServer) -> None:
    """Player and agent chat and end; both get the request number; the API has the transcript."""
    token = await make_agent(server, "ayse", name="Ayşe")
    a, welcome = await agent(server, token)
    assert welcome["agent"]["name"] == "Ayşe" and welcome["agent"]["status"] == "online"
    assert welcome["chats"] == []

    p, pw = await player(server)
    assert pw["state"] == "prechat" and pw["resumed"] is False and pw["session"]
    await p.send(
        "prechat",
        name="Mehmet",
        username="mehmet42",
        email="m@example.com",
        topic="technical",
        age_confirmed=True,
    )
    assigned = await p.expect("assigned")
    assert assigned["agent"] == {"name": "Ayşe"}
    chat = assigned["chat"]
    aa = await a.expect("assigned", chat=chat)
    assert aa["player"] == {
        "name": "Mehmet",
        "username": "mehmet42",
        "email": "m@example.com",
        "topic": "technical",
        "verified": False,
        "verified_by": None,
        "member_id": None,
        "phone": None,
    }
    assert (aa["department"], aa["priority"]) == ("technical", 0)

    joined = await p.expect("message", event="agent_joined")
    assert joined["from"] == "system" and joined["seq"] == 1

    await p.send("message", id="p1", text="Param çekilmedi")
    ack = await p.expect("ack", id="p1")
    relayed = await a.expect("message", id="p1")
    assert relayed == {
        **relayed,
        "chat": chat,
        "seq": ack["seq"],
        "from": "player",
        "text": "Param çekilmedi",
    }

    await a.send("typing", chat=chat, active=True)
    assert (await p.expect("typing"))["from"] == "agent"
    await p.send("typing", active=True)
    assert (await a.expect("typing", chat=chat))["from"] == "player"

    await a.send("message", chat=chat, id="a1", text="Hemen bakıyorum")
    aack = await a.expect("ack", id="a1")
    assert aack["chat"] == chat and aack["seq"] == ack["seq"] + 1
    got = await p.expect("message", id="a1")
    assert got["from"] == "agent" and got["name"] == "Ayşe" and got["seq"] == aack["seq"]

    await p.send("end")
    ended_p = await p.expect("ended")
    ended_a = await a.expect("ended", chat=chat)
    assert ended_p["request_number"] == ended_a["request_number"]
    assert ended_p["by"] == "player"
    number = ended_p["request_number"]
    assert len(number) == 11 and number[5] == "-"
    parse_request_number(number)  # carries a valid check character

    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.get(f"/api/requests/{number}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["number"] == number and body["status"] == "open"
        assert body["player"]["username"] == "mehmet42"
        assert body["agent"]["name"] == "Ayşe"
        texts = [(m["seq"], m["from"], m["text"]) for m in body["transcript"]]
        assert [s for s, _, _ in texts] == list(range(1, len(texts) + 1))
        assert (ack["seq"], "player", "Param çekilmedi") in texts
        assert (aack["seq"], "agent", "Hemen bakıyorum") in texts
        assert body["transcript"][-1]["event"] == "chat_ended"
        # lowercase without the hyphen is the same number
        r = await http.get(
            f"/api/requests/{number.replace('-', '').lower()}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200


async def test_request_api_errors(server: RunningServer) -> None:
    """The request API refuses missing tokens, mistyped numbers and unknown numbers clearly."""
    token = await make_agent(server, "ayse")
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.get("/api/requests/ABCDE-FGHJK")
        assert r.status_code == 401 and r.json()["error"]["code"] == "auth_required"
        r = await http.get("/api/requests/ABCDE-FGHJK", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
        r = await http.get("/api/requests/ABCDE-FGHJK", headers=auth)
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "invalid_request_number"
        r = await http.get("/api/requests/ABC", headers=auth)
        assert r.json()["error"]["code"] == "invalid_request_number"
        from chatserver.core.requests import format_request_number, request_number_from_bits

        unknown = format_request_number(request_number_from_bits(12345))
        r = await http.get(f"/api/requests/{unknown}", headers=auth)
        assert r.status_code == 404 and r.json()["error"]["code"] == "request_not_found"
        r = await http.get("/no/such/page")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_health_and_readiness(server: RunningServer) -> None:
    """/healthz answers, /readyz says the store answers."""
    async with httpx.AsyncClient(base_url=server.http) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        r = await http.get("/readyz")
        assert r.status_code == 200 and r.json()["status"] == "ready"
        topics = {t["id"]: t for t in (await http.get("/api/topics")).json()["topics"]}
        assert topics["payments"]["members_only"] is True
        assert topics["payments"]["labels"]["tr"] == "Para yatırma ve çekme"
        assert topics["payments"]["open"] is False  # nobody online


async def test_player_messages_while_queued_reach_the_agent_in_history(
    queue_server: RunningServer,
) -> None:
    """What a player writes while waiting is stored and shown to the agent who takes the chat."""
    p, _ = await start_chat(queue_server)
    queued = await p.expect("queued")
    assert queued["position"] == 1 and queued["eta_seconds"] is None  # nobody online yet
    await p.send("message", id="q1", text="Hello, anyone?")
    assert (await p.expect("ack", id="q1"))["seq"] == 1

    token = await make_agent(queue_server, "ayse")
    a, _ = await agent(queue_server, token)
    assigned = await a.expect("assigned")
    assert [m["text"] for m in assigned["history"]] == ["Hello, anyone?"]
    assert assigned["history"][0]["seq"] == 1
    assert (await a.expect("message", event="agent_joined"))["seq"] == 2


async def test_frames_sent_behind_hello_wait_for_it_and_keep_their_order(
    server: RunningServer,
) -> None:
    """A client that does not wait for ``welcome``: its hello reads the store (the token),
    and the frames it sent right after are answered after the welcome, in order."""
    from tests.support import WS

    token = await make_agent(server, "deniz")
    a = await WS.open(f"{server.ws}/ws/agent")
    await a.send("hello", v=1, token=token, status="online")
    await a.send("roster")
    await a.send("ping")
    await a.send("status", status="away")
    await a.send("ping")
    types = [(await a.recv())["type"] for _ in range(5)]
    assert types == ["welcome", "roster", "pong", "status", "pong"], a.seen
    await a.close()

    p = await WS.open(f"{server.ws}/ws/player")
    await p.send("hello", v=1)
    await p.send("ping")
    await p.send("message", id="x", text="too early")  # no chat yet: refused, in its turn
    first = [await p.recv() for _ in range(3)]
    assert [f["type"] for f in first] == ["welcome", "pong", "error"], p.seen
    assert first[2]["code"] == "wrong_state"
    await p.close()
