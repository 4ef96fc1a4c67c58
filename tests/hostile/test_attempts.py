"""Attempt limits hold under concurrency, and argon2 runs off the event loop (issue 18, 2-3)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chatserver.web import console
from tests.support import RunningServer, agent, make_agent, player, serve_asgi

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]
PASSWORD = "correct horse battery"


async def _csrf(http: httpx.AsyncClient) -> str:
    import re

    page = await http.get("/console/login")
    m = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert m
    return m.group(1)


async def test_concurrent_wrong_passwords_cost_one_attempt_each(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 sign-ins at once test at most 5 passwords, off the event loop; then even the
    right password is refused."""
    await make_agent(server, "ayse")
    checked: list[bool] = []  # True when a password was checked on the loop's thread
    loop_thread = threading.get_ident()
    real = console._password_matches

    def counting(stored: str | None, password: str) -> bool:
        checked.append(threading.get_ident() == loop_thread)
        return real(stored, password)

    monkeypatch.setattr(console, "_password_matches", counting)
    async with httpx.AsyncClient(base_url=server.http) as http:
        csrf = await _csrf(http)

        async def attempt(password: str) -> int:
            r = await http.post(
                "/console/login", data={"username": "ayse", "password": password, "csrf": csrf}
            )
            return r.status_code

        codes = await asyncio.gather(*(attempt(f"wrong{i}") for i in range(40)))
        assert codes.count(401) == 5 and codes.count(429) == 35
        assert len(checked) == 5 and not any(checked)
        assert await attempt(PASSWORD) == 429


async def test_concurrent_lookups_cost_one_attempt_each(server: RunningServer) -> None:
    """30 wrong request look-ups at once: 10 are checked, the rest refused."""
    async with httpx.AsyncClient(base_url=server.http) as http:

        async def lookup(i: int) -> int:
            body = {"number": "7QM3R-XD2TK", "contact": f"x{i}@example.com"}
            return (await http.post("/api/requests/lookup", json=body)).status_code

        codes = await asyncio.gather(*(lookup(i) for i in range(30)))
    assert codes.count(404) == 10 and codes.count(429) == 20


async def test_concurrent_directory_guesses_cost_one_attempt_each(serve: Serve) -> None:
    """Many players on one address guessing at once: at most 20 reach the directory."""
    asked: list[str] = []

    async def members(request: Request) -> Response:
        asked.append(request.query_params["email"])
        return JSONResponse({"member_id": 1, "username": "ali", "email": "ali@example.com"})

    async with (
        serve_asgi(Starlette(routes=[Route("/m", members)])) as url,
        serve(directory_url=f"{url}/m", chats_per_address_per_minute=100) as server,
    ):
        await agent(server, await make_agent(server, "ayse"))
        players = [(await player(server))[0] for _ in range(30)]
        for i, p in enumerate(players):
            await p.send(
                "prechat", topic="payments", username="ali", email=f"g{i}@x.io", age_confirmed=True
            )
        codes = [(await p.expect("error"))["code"] for p in players]
    assert codes.count("identity_mismatch") == 10  # the member's own limit: 10 guesses
    assert codes.count("too_many_attempts") == 20 and len(asked) == 10


async def test_identity_tokens_cannot_be_guessed_without_limit(serve: Serve) -> None:
    """Bad identity tokens count as failed checks of the session."""
    async with serve(identity_secret="s" * 32) as server:
        await agent(server, await make_agent(server, "ayse"))
        p, _ = await player(server)
        form: dict[str, Any] = dict(topic="payments", age_confirmed=True, identity="x.y.z")
        for _ in range(5):
            await p.send("prechat", **form)
            await p.expect_error("identity_invalid")
        await p.send("prechat", **form)
        await p.expect_error("too_many_attempts")
