"""The offline path (leave a message -> request number) and the end-of-chat rating."""

from __future__ import annotations

import httpx

from chatserver.core.requests import parse_request_number
from tests.support import RunningServer, agent, make_agent, player, start_chat

OFFLINE = dict(topic="payments", age_confirmed=True, name="Mehmet", email="m@example.com")


async def test_no_agent_online_means_leave_a_message(server: RunningServer) -> None:
    """welcome says nobody is available; prechat is refused; leave_message gives a number."""
    p, welcome = await player(server)
    assert welcome["available"] is False
    await p.send("prechat", name="Mehmet", email="m@x.io", topic="technical", age_confirmed=True)
    await p.expect_error("service_offline")

    await p.send("leave_message", id="off-1", text="Çekimim 3 gündür bekliyor", **OFFLINE)
    ended = await p.expect("ended")
    assert ended["reason"] == "offline_message" and ended["by"] == "player"
    number = ended["request_number"]
    # a resend of the same form (say, after a reconnect) does not make a second request
    await p.send("leave_message", id="off-1", text="Çekimim 3 gündür bekliyor", **OFFLINE)
    assert (await p.expect("ended"))["request_number"] == number

    rec = await server.hub.store.request(parse_request_number(number))
    assert rec is not None and rec.chat.email == "m@example.com" and rec.chat.state == "ended"
    assert [(m.sender.value, m.text) for m in rec.messages][0] == (
        "player",
        "Çekimim 3 gündür bekliyor",
    )
    assert rec.messages[-1].event == "offline_message"


async def test_leave_message_refusals(server: RunningServer) -> None:
    """The offline form needs the 18+ confirmation, an e-mail and some text."""
    p, _ = await player(server)
    await p.send("leave_message", id="a", text="hi", **{**OFFLINE, "age_confirmed": False})
    assert (await p.expect_error("age_required"))["field"] == "age_confirmed"
    await p.send("leave_message", id="b", text="hi", **{**OFFLINE, "email": " "})
    assert (await p.expect_error("email_required"))["field"] == "email"
    await p.send("leave_message", id="c", text="  ", **OFFLINE)
    assert (await p.expect_error("empty_message"))["id"] == "c"
    await p.send("leave_message", id="d", **OFFLINE)
    assert (await p.expect_error("invalid_field"))["field"] == "text"


async def test_availability_follows_agents(server: RunningServer) -> None:
    """welcome.available is true while an agent is online."""
    a, _ = await agent(server, await make_agent(server, "ayse"))
    _, welcome = await player(server)
    assert welcome["available"] is True
    await a.send("status", status="away")
    await a.expect("status", status="away")
    _, welcome = await player(server)
    assert welcome["available"] is False


async def test_rating_is_stored_on_the_request(server: RunningServer) -> None:
    """After the chat the player says if it was resolved and rates it; the API shows it."""
    token = await make_agent(server, "ayse")
    a, _ = await agent(server, token)
    p, _ = await start_chat(server)
    await p.expect("assigned")
    await p.send("rate", resolved=True, rating=5)
    await p.expect_error("wrong_state")  # nothing to rate yet
    await p.send("end")
    number = (await p.expect("ended"))["request_number"]
    await p.send("rate", resolved=False, rating=6)
    assert (await p.expect_error("invalid_field"))["field"] == "rating"
    await p.send("rate", resolved=False, rating=2, comment="  Still waiting\x00  ")
    rated = await p.expect("rated")
    assert rated == {"type": "rated", "request_number": number, "resolved": False, "rating": 2}
    async with httpx.AsyncClient(base_url=server.http) as http:
        body = (
            await http.get(f"/api/requests/{number}", headers={"Authorization": f"Bearer {token}"})
        ).json()
    assert body["satisfaction"] == {"resolved": False, "rating": 2, "comment": "Still waiting"}
