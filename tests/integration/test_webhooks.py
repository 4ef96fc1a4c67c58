"""Webhooks to a real local HTTP receiver: signed, retried, durable across restarts."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support import (
    RunningServer,
    agent,
    free_port,
    make_agent,
    samples,
    serve_asgi,
    start_chat,
    t,
)

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
SECRET = "webhook-secret-" + "z" * 40
METRICS_TOKEN = "metrics-token-of-the-webhook-tests"
WEBHOOK_ATTEMPTS = "chatserver_webhook_attempts_total"


class Receiver:
    """The ticket system: records every POST; answers 500 to the first ``fail`` of them."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.calls: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        call = {"headers": dict(request.headers), "body": body, "json": json.loads(body)}
        if self.fail > 0:
            self.fail -= 1
            call["answered"] = 500
            await self.calls.put(call)
            return Response("busy", status_code=500)
        call["answered"] = 200
        await self.calls.put(call)
        return Response("ok")

    async def next(self, timeout: float = 10) -> dict[str, Any]:
        return await asyncio.wait_for(self.calls.get(), t(timeout))


def signature_ok(call: dict[str, Any]) -> bool:
    parts = dict(p.split("=", 1) for p in call["headers"]["x-chatserver-signature"].split(","))
    expected = hmac.new(
        SECRET.encode(), f"{parts['t']}.".encode() + call["body"], hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def settings(url: str, *, events: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    """Webhooks to ``url``: every event, or only ``events`` (``webhook_events``)."""
    return {
        "webhook_urls": (url,),
        "webhook_events": events,
        "webhook_secret": SECRET,
        "webhook_retry_base_seconds": 0.05,
        **extra,
    }


async def end_a_chat(server: RunningServer) -> tuple[str, Any, str]:
    token = await make_agent(server, "ayse", name="Ayşe")
    a, _ = await agent(server, token)
    p, _ = await start_chat(server, name="Mehmet", email="m@example.com")
    chat = (await p.expect("assigned"))["chat"]
    await a.send("message", chat=chat, id="a1", text="hi")
    await a.expect("ack", id="a1")
    await a.send("end", chat=chat, resolution="resolved")
    number = (await p.expect("ended"))["request_number"]
    return number, p, token


async def test_chat_ended_and_request_updated_are_signed_and_complete(serve: Serve) -> None:
    """The ticket system gets both events with a valid signature and what it needs."""
    receiver = Receiver()
    async with serve_asgi(receiver.app) as base, serve(**settings(f"{base}/hook")) as server:
        number, p, token = await end_a_chat(server)
        two = {c["json"]["event"]: c for c in [await receiver.next(), await receiver.next()]}
        created, call = two["request.created"], two["chat.ended"]
        assert signature_ok(created) and created["json"]["request"]["number"] == number
        assert created["json"]["request"]["status"] == "open"
        assert created["json"]["chat"]["topic"] == "technical"
        assert signature_ok(call)
        assert call["headers"]["x-chatserver-event"] == "chat.ended"
        body = call["json"]
        assert body["event"] == "chat.ended"
        assert body["request"]["number"] == number and body["request"]["resolution"] == "resolved"
        assert body["player"] == {
            "name": "Mehmet",
            "username": None,
            "email": "m@example.com",
            "member_id": None,
            "verified_by": None,
            "locale": None,
        }
        assert (body["chat"]["topic"], body["chat"]["department"]) == ("technical", "technical")
        assert body["agent"]["name"] == "Ayşe" and body["timings"]["handle_seconds"] >= 0
        assert body["request"]["links"]["transcript_json"].endswith("transcript?format=json")
        # the links work with an API token
        async with httpx.AsyncClient() as http:
            r = await http.get(
                body["request"]["links"]["request"], headers={"Authorization": f"Bearer {token}"}
            )
            assert r.status_code == 200

        await p.send("rate", resolved=True, rating=5, comment="great")
        rated = await receiver.next()
        assert rated["json"]["event"] == "request.updated" and signature_ok(rated)
        assert rated["json"]["satisfaction"] == {"resolved": True, "rating": 5, "comment": "great"}
        async with httpx.AsyncClient(base_url=server.http) as http:
            await http.post(
                f"/api/requests/{number}/status",
                json={"status": "resolved"},
                headers={"Authorization": f"Bearer {token}"},
            )
        changed = await receiver.next()
        assert changed["json"]["request"]["status"] == "resolved"
        assert changed["json"]["changed_by"] == "Ayşe"
        ids = {c["headers"]["x-chatserver-delivery"] for c in (created, call, rated, changed)}
        assert len(ids) == 4


async def test_a_failing_receiver_is_retried_until_it_takes_it(serve: Serve) -> None:
    """Two 500s, then 200: the same delivery id each time, three attempts recorded."""
    receiver = Receiver(fail=2)
    async with (
        serve_asgi(receiver.app) as base,
        serve(**settings(f"{base}/hook", events=("chat.ended",))) as server,
    ):
        await end_a_chat(server)
        calls = [await receiver.next() for _ in range(3)]
        assert [c["answered"] for c in calls] == [500, 500, 200]
        assert len({c["headers"]["x-chatserver-delivery"] for c in calls}) == 1
        assert server.hub.dispatcher is not None
        await asyncio.wait_for(server.hub.dispatcher.wait_until(lambda d: d.delivered >= 1), t(5))
        deliveries = await server.hub.store.deliveries(10)
        assert [(d.status, d.attempts) for d in deliveries] == [("delivered", 3)]


async def test_deliveries_survive_a_restart(serve: Serve) -> None:
    """The receiver is down; the server stops; on restart the delivery still goes out."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    one = ("chat.ended",)  # (the one event these tests follow)
    async with serve(**settings(url, events=one, webhook_retry_base_seconds=0.5)) as server:
        number, _, _ = await end_a_chat(server)
        assert server.hub.dispatcher is not None
        # the first attempt fails (nobody listens); the next is due half a second later
        await asyncio.wait_for(server.hub.dispatcher.wait_until(lambda d: d.retried >= 1), t(5))
        db = server.settings.db
    receiver = Receiver()
    async with (
        serve_asgi(receiver.app, port=port),
        serve(db=db, **settings(url, events=one)) as again,
    ):
        call = await receiver.next()
        assert call["json"]["request"]["number"] == number and signature_ok(call)
        assert again.hub.dispatcher is not None
        await asyncio.wait_for(again.hub.dispatcher.wait_until(lambda d: d.delivered >= 1), t(5))
        deliveries = await again.hub.store.deliveries(10)
        assert deliveries[0].status == "delivered" and deliveries[0].attempts >= 2
        assert deliveries[0].last_error is None


async def test_give_up_then_send_again_from_the_console(serve: Serve) -> None:
    """After the last attempt a delivery is failed, shown with its error, and can be resent."""
    from tests.integration.test_console_http import boot, sign_in

    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    metrics = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with serve(
        **settings(url, events=("chat.ended",), webhook_max_attempts=3),
        metrics_token=METRICS_TOKEN,
    ) as server:
        await make_agent(server, "boss", role="admin")
        await end_a_chat(server)
        store = server.hub.store
        dispatcher = server.hub.dispatcher
        assert dispatcher is not None
        await asyncio.wait_for(dispatcher.wait_until(lambda d: d.failed >= 1), t(10))
        failed = (await store.deliveries(10))[0]
        assert failed.attempts == 3 and "ConnectError" in (failed.last_error or "")
        receiver = Receiver()
        async with (
            serve_asgi(receiver.app, port=port),
            httpx.AsyncClient(base_url=server.http) as http,
        ):
            await sign_in(http, "boss")
            page = await http.get("/console/admin/webhooks")
            assert "failed" in page.text and "ConnectError" in page.text
            csrf = boot((await http.get("/console")).text)["csrf"]
            r = await http.post(
                f"/console/admin/webhooks/{failed.id}/redeliver", data={"csrf": csrf}
            )
            assert r.status_code == 303
            call = await receiver.next()
            assert call["headers"]["x-chatserver-delivery"] == failed.id
            await asyncio.wait_for(dispatcher.wait_until(lambda d: d.delivered >= 1), t(10))
            # /metrics counts each attempt by its outcome (an alert watches gave_up)
            seen = samples((await http.get("/metrics", headers=metrics)).text)
        outcomes = {
            labels[0][1]: n for (name, labels), n in seen.items() if name == WEBHOOK_ATTEMPTS
        }
        assert outcomes == {"retry": 2, "gave_up": 1, "delivered": 1}
