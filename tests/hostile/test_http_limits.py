"""HTTP and handshake limits before any authentication (issue 18, 4 and 9)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest

from tests.support import WS, RunningServer, t

Serve = Callable[..., AbstractAsyncContextManager[RunningServer]]


async def _raw(port: int, data: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    return reader, writer


async def _closed(reader: asyncio.StreamReader, timeout: float = 5) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), t(timeout))


@pytest.mark.parametrize(
    ("path", "kind", "code"),
    [
        ("/api/requests/lookup", "application/json", b"payload_too_large"),
        ("/api/chats/c_x/files", "multipart/form-data; boundary=b", b"file_too_large"),
    ],
)
async def test_a_declared_huge_body_is_refused_before_it_is_read(
    server: RunningServer, path: str, kind: str, code: bytes
) -> None:
    """Content-Length of 300 MiB, to the public look-up or as an upload: 413 at once,
    nothing read (an upload says file_too_large, as its own check does)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\n"
        "Content-Length: 314572800\r\n\r\n"
    ).encode()
    reader, writer = await _raw(server.port, head)
    answer = await _closed(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 413") and code in answer


async def test_a_streamed_body_is_cut_off_at_the_limit(server: RunningServer) -> None:
    """A chunked body without a length is counted as it arrives: 413 past 64 KiB."""

    async def body() -> object:
        for _ in range(100):
            yield b"x" * 4096

    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(
            "/api/requests/lookup", content=body(), headers={"Content-Type": "application/json"}
        )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


async def test_huge_headers_are_refused(server: RunningServer) -> None:
    """More than max_header_bytes of headers: 431 and the connection is closed."""
    filler = b"".join(b"X-Fill-%d: %s\r\n" % (i, b"a" * 1000) for i in range(40))
    reader, writer = await _raw(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + filler)
    answer = await _closed(reader)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 431")


async def test_silent_and_trickling_connections_are_closed(serve: Serve) -> None:
    """A connection that sends nothing, and one that never finishes its head (a half-sent
    WebSocket handshake), are closed after header_timeout_seconds."""
    async with serve(header_timeout_seconds=0.3) as server:
        silent, w1 = await _raw(server.port, b"")
        half, w2 = await _raw(
            server.port,
            b"GET /ws/player HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
        )
        assert await _closed(silent) == b""
        assert await _closed(half) == b""
        w1.close()
        w2.close()
        # a whole request on a fresh connection is still answered
        async with httpx.AsyncClient(base_url=server.http) as http:
            assert (await http.get("/healthz")).status_code == 200


async def test_a_socket_without_hello_is_closed(serve: Serve) -> None:
    """A WebSocket that opens but never says hello (pings do not count) is closed."""
    async with serve(hello_timeout_seconds=0.4) as server:
        ws = await WS.open(f"{server.ws}/ws/player")
        await ws.send("ping")
        await ws.expect("pong")
        assert await ws.closed(timeout=5) == 1008


async def _lookups(server: RunningServer, checks: str, addresses: int) -> list[int]:
    """Failed look-ups, one per request number in ``checks``, each claiming to come
    from one of ``addresses`` client addresses; their HTTP statuses."""
    async with httpx.AsyncClient(base_url=server.http) as http:
        return [
            (
                await http.post(
                    "/api/requests/lookup",
                    json={"number": f"7QM3R-XD2T{c}", "contact": "x@example.com"},
                    headers={"X-Forwarded-For": f"203.0.113.{i % addresses}"},
                )
            ).status_code
            for i, c in enumerate(checks)
        ]


async def test_forwarded_addresses_only_from_trusted_proxies(serve: Serve) -> None:
    """Per-address throttles use X-Forwarded-For only from a proxy in forwarded_allow_ips;
    a client's own header is ignored."""
    async with serve(forwarded_allow_ips=("10.9.9.9",)) as server:
        codes = await _lookups(server, "ABCDEFGHJKM", addresses=11)
    assert codes[:10] == [404] * 10 and codes[10] == 429  # all one address: 127.0.0.1
    async with serve() as server:  # 127.0.0.1 is a trusted proxy by default
        codes = await _lookups(server, "ABCDEFGHJKMNPQ", addresses=2)
    assert codes == [404] * 14  # two client addresses, seven failures each
