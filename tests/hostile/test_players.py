"""One player cannot flood, out-guess or outgrow the server (issue 18: 1, 6, 7, 10, 12)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from chatserver import mail
from tests.support import WS, RunningServer, agent, make_agent, player, serve_asgi, start_chat

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
OFFLINE: dict[str, Any] = dict(topic="payments", age_confirmed=True, name="M")


@pytest.mark.parametrize("endpoint", ["player", "agent"])
async def test_deep_nesting_is_a_bad_frame(server: RunningServer, endpoint: str) -> None:
    """Nesting 999 deep before any auth: bad_frame, the socket stays open, no 1011."""
    ws = await WS.open(f"{server.ws}/ws/{endpoint}")
    for _ in range(3):
        await ws.send_raw('{"type":"ping","x":' + "[" * 999 + "]" * 999 + "}")
        err = await ws.expect_error("bad_frame")
        assert "nests" in err["message"]
    await ws.send("ping")
    await ws.expect("pong")


async def test_sockets_and_frames_are_counted_per_session(serve: Serve) -> None:
    """A session opens at most max_sockets_per_session sockets, and its sockets share
    one frame allowance (player_burst)."""
    async with serve(queue_without_agents=True, max_sockets_per_session=3) as server:
        first, welcome = await start_chat(server)
        await first.expect("queued")
        token = welcome["session"]
        tabs = [await WS.open(f"{server.ws}/ws/player") for _ in range(4)]
        for tab in tabs:  # four more tabs at once: two fit
            await tab.send("hello", v=1, resume=token)
        answers = [(await tab.recv())["type"] for tab in tabs]
        assert sorted(answers) == ["error", "error", "welcome", "welcome"]
        refused = [tab for tab, kind in zip(tabs, answers, strict=True) if kind == "error"]
        assert [await tab.closed() for tab in refused] == [1008, 1008]
        assert refused[0].seen[0]["code"] == "too_many_connections"
        others = [tab for tab, kind in zip(tabs, answers, strict=True) if kind == "welcome"]
        socks = [first, *others]
        for i in range(30):  # 10 per socket, 30 in all: over the session's burst of 20
            await socks[i % 3].send("message", id=f"m{i}", text="hi")
        refused = 0
        for ws in socks:  # every message gets its answer: an ack (once stored) or a refusal
            answered = 0
            while answered < 10:
                frame = await ws.recv()
                if frame["type"] in ("ack", "error"):
                    answered += 1
                    refused += frame["type"] == "error" and frame["code"] == "rate_limited"
            await ws.close()  # (nothing left unread: the client's close is not held up)
        assert refused == 11  # 30 messages and the prechat against a session burst of 20


async def test_new_sessions_and_chats_per_address(serve: Serve) -> None:
    """New sessions and new chats a minute are limited per client address."""
    async with serve(
        queue_without_agents=True, sessions_per_address_per_minute=3, chats_per_address_per_minute=2
    ) as server:
        players = [(await player(server))[0] for _ in range(3)]
        ws = await WS.open(f"{server.ws}/ws/player")
        await ws.send("hello", v=1)
        await ws.expect_error("too_many_sessions")
        for p in players[:2]:
            await p.send("prechat", name="A", email="a@x.io", topic="technical", age_confirmed=True)
            await p.expect("queued")
        await players[2].send(
            "prechat", name="A", email="a@x.io", topic="technical", age_confirmed=True
        )
        await players[2].expect_error("too_many_chats")


async def test_the_queue_has_a_default_limit(serve: Serve) -> None:
    """Without a department max_queue, max_queue applies: then the leave-a-message form."""
    async with serve(queue_without_agents=True, max_queue=2) as server:
        for _ in range(2):
            p, _ = await start_chat(server)
            await p.expect("queued")
        p, _ = await start_chat(server)
        err = await p.expect_error("service_offline")
        assert err["reason"] == "queue_full"


async def test_a_long_chat_keeps_only_its_latest_messages_in_memory(serve: Serve) -> None:
    """Past live_chat_memory_chars the oldest messages leave memory; a player resuming
    from the start still gets every message, in order, from the store."""
    async with serve(
        queue_without_agents=True, live_chat_memory_chars=4000, player_rate=1000, player_burst=1000
    ) as server:
        p, welcome = await start_chat(server)
        await p.expect("queued")
        for i in range(40):
            await p.send("message", id=f"m{i}", text=f"{i:03d}" + "x" * 497)
            await p.expect("ack", id=f"m{i}")
        conv = next(iter(server.hub.chats.values())).conv
        assert conv.kept_chars <= 4000 and conv.kept_from > 1
        again, w = await player(server, resume=welcome["session"], last_seq=0)
        got = [await again.expect("message") for _ in range(w["last_seq"])]
        assert [m["seq"] for m in got] == list(range(1, w["last_seq"] + 1))
        assert [m["text"][:3] for m in got if m["from"] == "player"] == [
            f"{i:03d}" for i in range(40)
        ]


async def test_transcript_mail_is_no_relay(
    serve: Serve, mailbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transcript goes to the form's address, built off the event loop, at most
    transcript_emails_per_chat times per chat and emails_per_recipient_per_day per
    recipient (the receipt with each new request number counts too), whatever the sessions
    and sockets."""
    built: list[bool] = []
    loop_thread = threading.get_ident()
    real = mail.transcript_mail

    def watched(*args: Any) -> bytes:
        built.append(threading.get_ident() == loop_thread)
        return real(*args)

    monkeypatch.setattr(mail, "transcript_mail", watched)
    async with serve(**mailbox.settings(), emails_per_recipient_per_day=4) as server:
        sent = 0
        for n in range(3):  # three strangers' forms naming one victim
            p, _ = await player(server)
            await p.send("leave_message", id=f"l{n}", text="spam", email="victim@x.io", **OFFLINE)
            await p.expect("ended")
            for _ in range(3):
                await p.send("email_transcript")
            for _ in range(3):
                frame = await p.recv()
                if frame["type"] == "emailed":
                    sent += 1
                else:
                    assert frame["code"] == "email_limit", frame
        # 1st form: its receipt and two transcripts (the chat's limit); 2nd: its receipt;
        # then the address has had its four for the day
        assert sent == 2 and len(built) == 2 and not any(built)
        for _ in range(4):
            rcpt, _ = await mailbox.next(receipts=True)
            assert rcpt == ["victim@x.io"]
        assert mailbox.queue.empty()


async def test_a_refusing_mail_server_does_not_give_the_allowance_back(serve: Serve) -> None:
    """Failed sends count: a 552 from the mail server still uses up the chat's sends."""
    from aiosmtpd.controller import Controller

    from bench.procs import free_port

    class Refuse:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            return "552 message size exceeds fixed maximum message size"

    port = free_port()
    controller = Controller(Refuse(), hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        async with serve(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none") as server:
            p, _ = await player(server)
            await p.send("leave_message", id="l", text="hi", email="a@x.io", **OFFLINE)
            await p.expect("ended")
            codes = []
            for _ in range(4):
                await p.send("email_transcript")
                codes.append((await p.expect("error"))["code"])
            assert codes == ["email_failed", "email_failed", "email_limit", "email_limit"]
    finally:
        await asyncio.to_thread(controller.stop)


async def test_a_transcript_mail_has_a_size_cap(serve: Serve, mailbox: Any) -> None:
    """A chat of 4,000-emoji messages is mailed within max_transcript_email_bytes."""
    async with serve(
        **mailbox.settings(),
        queue_without_agents=True,
        max_transcript_email_bytes=200_000,
        player_rate=1000,
        player_burst=1000,
    ) as server:
        p, _ = await start_chat(server)
        await p.expect("queued")
        for i in range(60):
            frame = {"type": "message", "id": f"m{i}", "text": "😀" * 4000}
            await p.send_raw(json.dumps(frame, ensure_ascii=False))
            await p.expect("ack", id=f"m{i}")
        await p.send("end")
        await p.expect("ended")
        await p.send("email_transcript")
        await p.expect("emailed")
        _, msg = await mailbox.next()
        assert len(msg.as_bytes()) < 200_000
        assert "did not fit" in msg.get_body(preferencelist=("plain",)).get_content()


async def test_a_slow_or_wrong_directory_gets_a_clear_error(serve: Serve) -> None:
    """A directory that trickles its answer is cut off at the timeout; one that answers
    a number for a username is unreadable: verification_unavailable, no 1011."""

    async def trickle() -> Any:
        for ch in b'{"member_id": 1, "username": "ali", "email": "a@x.io"}':
            yield bytes([ch])
            await asyncio.sleep(0.2)  # the platform's slowness, not the test waiting

    async def members(request: Request) -> Response:
        if request.query_params["username"] == "slow":
            return StreamingResponse(trickle(), media_type="application/json")
        return Response(b'{"member_id": 1, "username": 5, "email": "a@x.io"}')

    async with (
        serve_asgi(Starlette(routes=[Route("/m", members)])) as url,
        serve(directory_url=f"{url}/m", directory_timeout_seconds=1) as server,
    ):
        await agent(server, await make_agent(server, "ayse"))
        p, _ = await player(server)
        for username in ("slow", "five"):
            await p.send(
                "prechat", topic="payments", username=username, email="a@x.io", age_confirmed=True
            )
            await p.expect_error("verification_unavailable", timeout=5)
        await p.send("ping")
        await p.expect("pong")
