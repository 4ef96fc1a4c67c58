"""Identity checks, departments, priorities, waits, hours and timeouts over real WebSockets."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import date
from pathlib import Path
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.core.identity import Member
from tests.support import WS, RunningServer, agent, make_agent, player, serve_asgi, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
SECRET = "platform-secret-" + "x" * 48


def identity(**claims: Any) -> str:
    payload = {
        "sub": "m-42",
        "username": "mehmet42",
        "email": "m@example.com",
        "exp": time.time() + 300,
    }
    payload.update(claims)
    return jwt.encode(
        {k: v for k, v in payload.items() if v is not None}, SECRET, algorithm="HS256"
    )


async def member_chat(server: RunningServer, **fields: Any) -> tuple[WS, dict[str, Any]]:
    p, _ = await player(server)
    await p.send("prechat", topic="payments", age_confirmed=True, **fields)
    return p, await p.expect("assigned")


async def test_a_verified_member_reaches_a_members_only_topic(serve: Serve) -> None:
    """A valid platform token opens a members-only topic; the agent sees a verified member."""
    async with serve(identity_secret=SECRET) as server:
        a, _ = await agent(server, await make_agent(server, "ayse", departments=("finance",)))
        p, _ = await member_chat(server, identity=identity(name="Mehmet Y."))
        card = (await a.expect("assigned"))["player"]
        assert card == {
            "name": "Mehmet Y.",
            "username": "mehmet42",
            "email": "m@example.com",
            "topic": "payments",
            "verified": True,
            "verified_by": "token",
            "member_id": "m-42",
            "phone": None,
        }


async def test_tokens_that_are_expired_or_altered_are_refused(serve: Serve) -> None:
    """Each bad token gets its own code; the connection carries on."""
    async with serve(identity_secret=SECRET) as server:
        await agent(server, await make_agent(server, "ayse"))
        p, _ = await player(server)
        await p.send(
            "prechat", topic="payments", age_confirmed=True, identity=identity(exp=time.time() - 5)
        )
        assert (await p.expect_error("identity_expired"))["field"] == "identity"
        forged = identity()[:-3] + "abc"
        await p.send("prechat", topic="payments", age_confirmed=True, identity=forged)
        await p.expect_error("identity_invalid")
        await p.send(
            "prechat",
            topic="payments",
            age_confirmed=True,
            identity=identity(birthdate="2012-01-01"),
        )
        err = await p.expect_error("under_age")
        assert "18" in err["message"]
    rows = await server.rows("SELECT reason, member_id, topic FROM refusals")
    assert rows == [("under_age", "m-42", "payments")]


async def test_a_guest_is_refused_a_members_only_topic(server: RunningServer) -> None:
    """Without a token or account details, members-only topics say what is needed."""
    await agent(server, await make_agent(server, "ayse"))
    p, _ = await player(server)
    await p.send(
        "prechat", topic="payments", name="Guest", email="g@example.com", age_confirmed=True
    )
    err = await p.expect_error("members_only")
    assert err["field"] == "username" and "username" in err["message"]
    await p.send("prechat", topic="bonus", name="Guest", email="g@example.com", age_confirmed=True)
    card = await p.expect("assigned")
    assert card["agent"]["name"] == "Ayse"


async def test_the_built_in_directory_matches_username_and_email(server: RunningServer) -> None:
    """Both fields must belong to one member; every mismatch gets the same answer; throttled."""
    await server.hub.store.upsert_members(
        [Member("m-7", "mehmet42", "m@example.com", "Mehmet", date(1990, 1, 1))]
    )
    a, _ = await agent(server, await make_agent(server, "ayse"))
    p, _ = await player(server)
    answers = []
    for username, email in [("mehmet42", "other@example.com"), ("nobody", "m@example.com")]:
        await p.send(
            "prechat", topic="payments", username=username, email=email, age_confirmed=True
        )
        answers.append((await p.expect_error("identity_mismatch"))["message"])
    assert answers[0] == answers[1]  # never says which field was wrong, or for whom
    await p.send(
        "prechat", topic="payments", username="MEHMET42", email="M@example.com", age_confirmed=True
    )
    card = (await a.expect("assigned"))["player"]
    assert (card["verified_by"], card["member_id"], card["name"]) == ("directory", "m-7", "Mehmet")

    q, _ = await player(server)
    for _ in range(5):
        await q.send(
            "prechat", topic="payments", username="x", email="x@example.com", age_confirmed=True
        )
        await q.expect_error("identity_mismatch")
    await q.send(
        "prechat", topic="payments", username="mehmet42", email="m@example.com", age_confirmed=True
    )
    err = await q.expect_error("too_many_attempts")
    assert err["retry_after"] > 0


@contextlib.asynccontextmanager
async def platform_api(hang: asyncio.Event) -> AsyncIterator[tuple[str, list[str]]]:
    """The platform's own member API: a real HTTP server on a free port."""
    seen: list[str] = []

    async def members(request: Request) -> Response:
        seen.append(request.headers.get("x-directory-key", ""))
        if request.headers.get("x-directory-key") != "k3y":
            return JSONResponse({"error": "forbidden"}, status_code=403)
        username = request.query_params["username"]
        if username == "slow":
            await hang.wait()  # never answers: the directory's timeout must save the player
        if username != "ali99":
            return JSONResponse({"error": "no such member"}, status_code=404)
        return JSONResponse(
            {
                "member_id": 99,
                "username": "ali99",
                "email": "ali@example.com",
                "birthdate": "2011-05-05",
            }
        )

    async with serve_asgi(Starlette(routes=[Route("/members", members)])) as url:
        try:
            yield f"{url}/members", seen
        finally:
            hang.set()  # let the hanging request finish, so the server can stop


async def test_the_platforms_own_directory_over_http(serve: Serve) -> None:
    """The platform API is asked with its secret header; slow answers fail fast and clearly."""
    hang = asyncio.Event()
    async with (
        platform_api(hang) as (url, seen),
        serve(
            directory_url=url,
            directory_header="X-Directory-Key: k3y",
            directory_timeout_seconds=0.5,
        ) as server,
    ):
        await agent(server, await make_agent(server, "ayse"))
        p, _ = await player(server)
        await p.send(
            "prechat",
            topic="payments",
            username="nobody",
            email="n@example.com",
            age_confirmed=True,
        )
        await p.expect_error("identity_mismatch")
        await p.send(
            "prechat", topic="payments", username="slow", email="s@example.com", age_confirmed=True
        )
        err = await p.expect_error("verification_unavailable", timeout=5)
        assert "right now" in err["message"]
        # the platform knows this member is 14: refused politely
        await p.send(
            "prechat",
            topic="payments",
            username="ali99",
            email="ali@example.com",
            age_confirmed=True,
        )
        await p.expect_error("under_age")
        assert set(seen) == {"k3y"}
        # and the server keeps serving while the platform hangs
        await p.send("ping")
        await p.expect("pong")


async def test_two_departments_never_cross(server: RunningServer) -> None:
    """A finance agent gets finance chats only, a technical agent technical ones."""
    fin, _ = await agent(
        server, await make_agent(server, "fin", departments=("finance", "general"))
    )
    tech, _ = await agent(server, await make_agent(server, "tech", departments=("technical",)))
    t1, _ = await start_chat(server, name="T1", topic="technical")
    t1_chat = (await t1.expect("assigned"))["chat"]
    assert (await tech.expect("assigned"))["chat"] == t1_chat
    b1, _ = await start_chat(server, name="B1", topic="other")  # general
    b1_chat = (await b1.expect("assigned"))["chat"]
    assert (await fin.expect("assigned"))["chat"] == b1_chat
    # bonus (promotions): nobody of that department is online
    b2, _ = await player(server)
    await b2.send("prechat", topic="bonus", name="B2", email="b2@x.io", age_confirmed=True)
    err = await b2.expect_error("service_offline")
    assert err["reason"] == "no_agents"
    assert not [f for f in await tech.barrier() if f["type"] == "assigned"]
    assert not [f for f in await fin.barrier() if f["type"] == "assigned"]


ROUTING = """
[[departments]]
id = "support"
max_queue = 2

[[departments]]
id = "vip"
overflow_after_seconds = 0.4
overflow_to = "support"

[[departments]]
id = "night"
[departments.hours]
mon = "closed"
tue = "closed"
wed = "closed"
thu = "closed"
fri = "closed"
sat = "closed"
sun = "closed"

[[topics]]
id = "question"
department = "support"

[[topics]]
id = "urgent"
department = "support"
priority = "urgent"

[[topics]]
id = "vip"
department = "vip"

[[topics]]
id = "night"
department = "night"
"""


def routing_file(tmp_path: Path) -> str:
    path = tmp_path / "routing.toml"
    path.write_text(ROUTING)
    return str(path)


async def test_priority_jumps_the_queue_and_the_wait_estimate_changes(
    serve: Serve, tmp_path: Path
) -> None:
    """An urgent chat goes ahead of earlier ones; estimates arrive and change with capacity."""
    async with serve(routing_file=routing_file(tmp_path)) as server:
        a, _ = await agent(server, await make_agent(server, "ayse", max_chats=1))
        busy, _ = await start_chat(server, name="Busy", topic="question")
        busy_chat = (await busy.expect("assigned"))["chat"]
        first, _ = await start_chat(server, name="First", topic="question")
        q = await first.expect("queued")
        assert q["position"] == 1 and isinstance(q["eta_seconds"], int)
        eta_alone = q["eta_seconds"]
        urgent, _ = await start_chat(server, name="Urgent", topic="urgent")
        assert (await urgent.expect("queued"))["position"] == 1
        assert (await first.expect("queued", position=2))["eta_seconds"] > eta_alone

        # a second agent doubles the capacity: the wait estimate drops
        await agent(server, await make_agent(server, "ali", max_chats=1), status="away")
        b, _ = await agent(server, await make_agent(server, "veli", max_chats=1), status="away")
        await b.send("status", status="online")
        assert (await urgent.expect("assigned"))["agent"]["name"] == "Veli"
        await a.send("end", chat=busy_chat)
        assert (await first.expect("assigned"))["agent"]["name"] == "Ayse"


async def test_queue_limit_and_closed_hours_lead_to_the_offline_path(
    serve: Serve, tmp_path: Path
) -> None:
    """Past max_queue, or outside hours, the player is asked to leave a message."""
    async with serve(routing_file=routing_file(tmp_path), queue_without_agents=True) as server:
        waiting = []
        for i in range(2):
            p, _ = await start_chat(server, name=f"P{i}", topic="question")
            await p.expect("queued")
            waiting.append(p)
        third, _ = await start_chat(server, name="P3", topic="question")
        assert (await third.expect_error("service_offline"))["reason"] == "queue_full"
        night, _ = await start_chat(server, name="N", topic="night")
        err = await night.expect_error("service_offline")
        assert err["reason"] == "closed" and err["opens_at"] is None
        await night.send(
            "leave_message",
            id="n1",
            topic="night",
            text="call me",
            name="N",
            email="n@x.io",
            age_confirmed=True,
        )
        assert (await night.expect("ended"))["reason"] == "offline_message"


async def test_overflow_to_the_fallback_department(serve: Serve, tmp_path: Path) -> None:
    """A VIP chat waiting past the threshold goes to a support agent."""
    async with serve(routing_file=routing_file(tmp_path), queue_without_agents=True) as server:
        a, _ = await agent(server, await make_agent(server, "ayse", departments=("support",)))
        p, _ = await start_chat(server, name="VIP", topic="vip")
        await p.expect("queued")
        assigned = await p.expect("assigned", timeout=5)
        assert assigned["agent"]["name"] == "Ayse"
        assert (await a.expect("assigned"))["department"] == "vip"


async def test_an_unanswered_chat_goes_to_the_next_agent(serve: Serve) -> None:
    """The first agent says nothing in time: the chat moves on, and not back to them."""
    async with serve(answer_timeout_seconds=0.4) as server:
        a, _ = await agent(server, await make_agent(server, "ayse"))
        p, _ = await start_chat(server)
        chat = (await a.expect("assigned"))["chat"]
        b, _ = await agent(server, await make_agent(server, "ali"))
        assert (await a.expect("unassigned", chat=chat, timeout=5))["reason"] == "no_answer"
        assert (await b.expect("assigned"))["chat"] == chat
        assert (await p.expect("message", event="no_answer"))["from"] == "system"
        await b.send("message", chat=chat, id="b1", text="Ben buradayım")
        await p.expect("message", id="b1")
        assert not [
            f for f in await b.barrier() if f.get("reason") == "no_answer"
        ]  # answered in time


async def test_an_idle_player_is_warned_then_the_chat_ends(serve: Serve) -> None:
    """After the agent's question goes unanswered: a warning, then the end with a request."""
    async with serve(player_idle_warn_seconds=0.3, player_idle_end_seconds=0.3) as server:
        a, _ = await agent(server, await make_agent(server, "ayse"))
        p, _ = await start_chat(server)
        chat = (await a.expect("assigned"))["chat"]
        await a.send("message", chat=chat, id="q", text="Hesap numaranız nedir?")
        warning = await p.expect("message", event="idle_warning", timeout=5)
        assert warning["from"] == "system"
        ended = await a.expect("ended", chat=chat, timeout=5)
        assert (ended["by"], ended["reason"]) == ("system", "player_idle")


async def test_an_answering_player_is_not_warned(serve: Serve) -> None:
    """Typing or writing back keeps the chat open."""
    async with serve(player_idle_warn_seconds=0.5, player_idle_end_seconds=0.3) as server:
        a, _ = await agent(server, await make_agent(server, "ayse"))
        p, _ = await start_chat(server)
        chat = (await a.expect("assigned"))["chat"]
        await a.send("message", chat=chat, id="q", text="?")
        await p.expect("message", id="q")
        await p.send("message", id="r", text="an answer")
        await a.expect("message", id="r")
        # the agent has had the last word for no time at all; nothing happens to the chat
        assert not [f for f in await p.barrier() if f.get("event") == "idle_warning"]


async def test_transfer_to_a_department(server: RunningServer) -> None:
    """An agent sends the chat to finance; a finance agent takes it; unknown ones are refused."""
    gen, welcome = await agent(server, await make_agent(server, "gen", departments=("technical",)))
    assert {d["id"] for d in welcome["departments"]} >= {"finance", "technical"}
    fin, _ = await agent(server, await make_agent(server, "fin", departments=("finance",)))
    p, _ = await start_chat(server)
    chat = (await gen.expect("assigned"))["chat"]
    await gen.send("transfer", chat=chat, department="casino")
    await gen.expect_error("unknown_department")
    await gen.send("transfer", chat=chat, department="finance")
    assert (await gen.expect("unassigned", chat=chat))["reason"] == "requeued"
    taken = await fin.expect("assigned", chat=chat)
    assert taken["department"] == "finance"
