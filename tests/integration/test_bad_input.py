"""Bad input of every kind gets a clear error; the connection and the server keep serving."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.support import WS, RunningServer, agent, make_agent, player, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def still_serving(ws: WS) -> None:
    """The connection answers a ping after the error."""
    await ws.send("ping")
    await ws.expect("pong")


@pytest.mark.parametrize(
    ("raw", "code", "field"),
    [
        ("{oops", "bad_json", None),
        ("[]", "bad_frame", None),
        ('{"no": "type"}', "bad_frame", "type"),
        ('{"type": "teleport"}', "unknown_type", "type"),
        ('{"type": "message", "id": 7, "text": "x"}', "invalid_field", "id"),
        ('{"type": "hello", "v": 2}', "unsupported_version", "v"),
    ],
)
async def test_malformed_frames_before_hello(
    server: RunningServer, raw: str, code: str, field: str | None
) -> None:
    """Malformed frames are answered with their code; the socket stays open."""
    ws = await WS.open(f"{server.ws}/ws/player")
    await ws.send_raw(raw)
    err = await ws.expect_error(code)
    assert err.get("field") == field and err["message"]
    await still_serving(ws)


async def test_state_errors_for_players(queue_server: RunningServer) -> None:
    """Frames not allowed in the current state get wrong_state (or hello_required)."""
    ws = await WS.open(f"{queue_server.ws}/ws/player")
    await ws.send("message", id="m1", text="hi")
    await ws.expect_error("hello_required")
    await ws.send("hello", v=1)
    await ws.expect("welcome")
    await ws.send("hello", v=1)
    await ws.expect_error("already_hello")
    await ws.send("message", id="m1", text="hi")
    assert (await ws.expect_error("wrong_state"))["id"] == "m1"
    await ws.send("end")
    await ws.expect_error("wrong_state")
    await ws.send("typing", active=True)
    await ws.expect_error("wrong_state")
    await ws.send("prechat", name="M", email="m@x.io", topic="technical", age_confirmed=True)
    await ws.expect("queued")
    await ws.send("prechat", name="M", email="m@x.io", topic="technical", age_confirmed=True)
    await ws.expect_error("wrong_state")
    await still_serving(ws)


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        (
            {"name": "M", "topic": "technical", "age_confirmed": False},
            "age_required",
            "age_confirmed",
        ),
        ({"name": "M", "topic": "casino", "age_confirmed": True}, "unknown_topic", "topic"),
        (
            {"email": "m@x.io", "topic": "technical", "age_confirmed": True},
            "identity_required",
            "name",
        ),
        ({"name": "M", "topic": "technical", "age_confirmed": True}, "identity_required", "email"),
        ({"email": "nope", "topic": "technical", "age_confirmed": True}, "invalid_email", "email"),
        (
            {"name": "M", "email": "m@x.io", "topic": "payments", "age_confirmed": True},
            "members_only",
            "username",
        ),
    ],
)
async def test_prechat_refusals(
    queue_server: RunningServer, fields: dict[str, object], code: str, field: str
) -> None:
    """The pre-chat form's refusals name the field to fix; a corrected form then works."""
    ws, _ = await player(queue_server)
    await ws.send("prechat", **fields)
    assert (await ws.expect_error(code))["field"] == field
    await ws.send("prechat", name="M", email="m@x.io", topic="technical", age_confirmed=True)
    await ws.expect("queued")


async def test_message_limits(serve: Serve) -> None:
    """Too long, empty and oversized frames are refused with the message id."""
    async with serve(
        max_message_chars=50, max_frame_bytes=2000, queue_without_agents=True
    ) as server:
        ws, _ = await start_chat(server)
        await ws.expect("queued")
        await ws.send("message", id="long", text="x" * 51)
        err = await ws.expect_error("message_too_long")
        assert (err["id"], err["field"]) == ("long", "text")
        await ws.send("message", id="blank", text=" \n\t ")
        assert (await ws.expect_error("empty_message"))["id"] == "blank"
        await ws.send("message", id="huge", text="ç" * 1500)  # 3000 bytes
        await ws.expect_error("frame_too_large")
        await ws.send_raw(b"\x00binary")
        await ws.expect_error("binary_not_supported")
        await ws.send("message", id="ok", text="x" * 50)
        assert (await ws.expect("ack", id="ok"))["seq"] == 1


async def test_frames_over_the_protocol_limit_close_with_1009(serve: Serve) -> None:
    """A frame over ws_max_bytes is cut off by the WebSocket layer (1009); others carry on."""
    async with serve(ws_max_bytes=4096) as server:
        ws, _ = await player(server)
        other, _ = await player(server)
        await ws.send("message", id="x", text="y" * 10_000)
        assert await ws.closed() == 1009
        await still_serving(other)


async def test_rate_limit_then_flood_close(serve: Serve) -> None:
    """Over the rate a frame is refused with a retry hint; a flood is closed with 1008."""
    async with serve(
        player_rate=1.0, player_burst=3, flood_after=5, queue_without_agents=True
    ) as server:
        ws, _ = await start_chat(server)  # hello + prechat: 2 of 3 tokens
        await ws.send("message", id="m1", text="a")
        await ws.expect("ack", id="m1")
        await ws.send("message", id="m2", text="b")
        err = await ws.expect_error("rate_limited")
        assert err["id"] == "m2" and err["retry_after_ms"] > 0
        for i in range(10):
            await ws.send("message", id=f"f{i}", text="flood")
        assert await ws.closed() == 1008
        # the server still serves everyone else
        other, _ = await player(server)
        await still_serving(other)


async def test_agent_errors(server: RunningServer) -> None:
    """Bad tokens, frames before hello and other agents' chats are refused, not fatal."""
    ws = await WS.open(f"{server.ws}/ws/agent")
    await ws.send("status", status="online")
    await ws.expect_error("hello_required")
    await ws.send("hello", v=1)
    await ws.expect_error("auth_required")
    await ws.send("hello", v=1, token="cst_wrong")
    assert (await ws.expect_error("invalid_token"))["field"] == "token"
    await ws.send("prechat", topic="x", age_confirmed=True)
    await ws.expect_error("unknown_type")

    token = await make_agent(server, "ayse")
    other = await make_agent(server, "ali")
    await ws.send("hello", v=1, token=token, status="online")
    await ws.expect("welcome")
    p, _ = await start_chat(server)
    chat = (await p.expect("assigned"))["chat"]
    await ws.expect("assigned", chat=chat)

    b, _ = await agent(server, other)
    await b.send("message", chat=chat, id="x", text="not mine")
    err = await b.expect_error("not_your_chat")
    assert (err["chat"], err["id"]) == (chat, "x")
    await b.send("end", chat=chat)
    await b.expect_error("not_your_chat")
    await b.send("typing", chat="c_nonexistent", active=True)
    await b.expect_error("not_your_chat")
    await still_serving(b)
    # the owner is unaffected
    await ws.send("message", chat=chat, id="y", text="mine")
    await p.expect("message", id="y")


async def test_ended_chat_refuses_messages(server: RunningServer) -> None:
    """After end, the agent's messages to that chat are refused and the player gets nothing."""
    a, _ = await agent(server, await make_agent(server, "ayse"))
    p, _ = await start_chat(server)
    chat = (await p.expect("assigned"))["chat"]
    await a.expect("assigned")
    await p.send("end")
    await a.expect("ended", chat=chat)
    await a.send("message", chat=chat, id="late", text="hello?")
    await a.expect_error("not_your_chat")


async def test_foreign_origins_are_refused(serve: Serve) -> None:
    """Browsers on other sites cannot open sockets unless the operator allowed the origin."""
    async with serve(allowed_origins=("https://casino.example",)) as server:
        with pytest.raises(InvalidStatus) as info:
            await WS.open(f"{server.ws}/ws/player", origin="https://evil.example")
        assert info.value.response.status_code == 403
        ws = await WS.open(f"{server.ws}/ws/player", origin="https://casino.example")
        await still_serving(ws)
        same = await WS.open(f"{server.ws}/ws/player", origin=server.http)
        await still_serving(same)
        # the agent socket accepts only its own origin
        with pytest.raises(InvalidStatus):
            await WS.open(f"{server.ws}/ws/agent", origin="https://casino.example")
        await still_serving(await WS.open(f"{server.ws}/ws/agent", origin=server.http))


async def test_http_errors_are_json(server: RunningServer) -> None:
    """Unknown routes and wrong methods answer with the JSON error shape."""
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post("/healthz")
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
        assert json.loads((await http.get("/nope")).text)["error"]["code"] == "not_found"
