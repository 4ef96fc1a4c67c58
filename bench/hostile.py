"""The hostile scenario (``python -m bench.run --only hostile``): the attacks of issue 18, one
after another, against a server with the shipped limits, while a bystander player pings every
250 ms and sends a message every second from another address.

For each attack it reports the bystander's ping and message round trips (p50, p99, max),
the server's peak RSS while it ran, and what the attacker got through (e-mails delivered,
passwords tested, ...). The attacker speaks from 127.0.0.2-127.0.0.9, the bystander from
127.0.0.1, as on the internet where they are different people.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chatserver.security import hash_password
from chatserver.store.sqlite import SqliteStore

from . import procs
from .harness import percentile

__all__ = ["hostile"]

ATTACKER = [f"127.0.0.{i}" for i in range(2, 10)]
FORM = {"name": "A", "email": "a@example.com", "topic": "technical", "age_confirmed": True}


async def ws(url: str, address: str = "127.0.0.1") -> ClientConnection:
    return await connect(
        url, open_timeout=30, max_size=None, compression=None, local_addr=(address, 0)
    )


async def frame_of(conn: ClientConnection, kinds: set[str], timeout: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            frame: dict[str, Any] = json.loads(await conn.recv())
            if frame["type"] in kinds:
                return frame


class Bystander:
    """A queued player who pings every 250 ms and writes every second: within the
    shipped per-connection limit (5 frames a second), as the widget is."""

    def __init__(self) -> None:
        self.pings: list[float] = []
        self.acks: list[float] = []
        self.sent: dict[str, float] = {}
        self.ping_sent = 0.0

    async def run(self, url: str, stop: asyncio.Event) -> None:
        conn = await ws(f"{url}/ws/player")
        await conn.send(json.dumps({"type": "hello", "v": 1}))
        await frame_of(conn, {"welcome"})
        await conn.send(json.dumps({"type": "prechat", **FORM}))
        await frame_of(conn, {"queued"})
        reader = asyncio.create_task(self._read(conn))
        n = 0
        while not stop.is_set():
            self.ping_sent = time.perf_counter()
            await conn.send('{"type":"ping"}')
            if n % 4 == 0:
                msg_id = f"b{n}"
                self.sent[msg_id] = time.perf_counter()
                await conn.send(json.dumps({"type": "message", "id": msg_id, "text": "hello?"}))
            n += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
        reader.cancel()
        await conn.close()

    async def _read(self, conn: ClientConnection) -> None:
        async for raw in conn:
            frame = json.loads(raw)
            now = time.perf_counter()
            if frame["type"] == "pong":
                self.pings.append(now - self.ping_sent)
            elif frame["type"] == "ack" and frame["id"] in self.sent:
                self.acks.append(now - self.sent.pop(frame["id"]))
            elif frame["type"] == "ping":
                await conn.send('{"type":"pong"}')

    def window(self) -> tuple[int, int]:
        return len(self.pings), len(self.acks)

    def figures(self, since: tuple[int, int]) -> dict[str, float | None]:
        """The round trips since ``since`` (None: the attack was over before one came)."""
        pings, acks = self.pings[since[0] :], self.acks[since[1] :]

        def ms(values: list[float], q: float) -> float | None:
            return round(percentile(values, q) * 1000, 2) if values else None

        return {
            "ping_p50_ms": ms(pings, 50),
            "ping_p99_ms": ms(pings, 99),
            "ping_max_ms": ms(pings, 100),
            "ack_p99_ms": ms(acks, 99),
        }


# -- the attacks -----------------------------------------------------------------------------


async def _guest(url: str, address: str) -> tuple[ClientConnection, dict[str, Any]]:
    conn = await ws(f"{url}/ws/player", address)
    await conn.send(json.dumps({"type": "hello", "v": 1}))
    return conn, await frame_of(conn, {"welcome", "error"})


async def _flood(socks: list[ClientConnection], *, seconds: float, pause: float) -> int:
    """Messages of 4,000 emoji (16 KB) round the sockets for ``seconds``; returns how many."""
    text = "😀" * 4000
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        for s in socks:
            with contextlib.suppress(ConnectionClosed):
                frame = {"type": "message", "id": f"f{n}", "text": text}
                await s.send(json.dumps(frame, ensure_ascii=False))
            n += 1
        await asyncio.sleep(pause)  # the attacker's pace
    return n


async def mail_flood(url: str, got: dict[str, int]) -> dict[str, Any]:
    """One guest in 10 sockets floods 4,000-emoji messages for 5 s, ends, then asks for the
    transcript 30 times from 5 sockets."""
    first, welcome = await _guest(url, ATTACKER[0])
    await first.send(json.dumps({"type": "prechat", **FORM}))
    await frame_of(first, {"queued"})
    socks = [first] + [await ws(f"{url}/ws/player", ATTACKER[0]) for _ in range(9)]
    for s in socks[1:]:
        await s.send(json.dumps({"type": "hello", "v": 1, "resume": welcome["session"]}))
    n = await _flood(socks, seconds=5, pause=0.01)
    for s in socks:  # (the server closed some for flooding: come back on fresh sockets)
        await s.close()
    socks = []
    for _ in range(5):
        conn = await ws(f"{url}/ws/player", ATTACKER[0])
        await conn.send(json.dumps({"type": "hello", "v": 1, "resume": welcome["session"]}))
        socks.append(conn)
    await socks[0].send('{"type":"end"}')
    await frame_of(socks[0], {"ended"})
    for _ in range(6):
        for s in socks:
            with contextlib.suppress(ConnectionClosed):
                await s.send('{"type":"email_transcript"}')
    await asyncio.sleep(3)  # the attack's own pace: what got through is counted after
    for s in socks:
        await s.close()
    return {"messages_sent": n, "emails_delivered": got.pop("mails", 0)}


async def sign_ins(url: str) -> dict[str, Any]:
    """40 sign-ins at once with wrong passwords for one account, then 19 for others."""
    codes: list[int] = []
    async with _http(url, ATTACKER[1]) as http:
        page = await http.get("/console/login")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]

        async def one(user: str, i: int) -> None:
            data = {"username": user, "password": f"wrong{i}", "csrf": csrf}
            codes.append((await http.post("/console/login", data=data)).status_code)

        await asyncio.gather(*(one("boss", i) for i in range(40)))
        for i in range(19):
            await one(f"user{i}", i)
    return {"tested": codes.count(401), "refused": codes.count(429), "busy": codes.count(503)}


async def http_abuse(url: str, port: int) -> dict[str, Any]:
    """A 300 MiB body declared, 1 MiB of headers, 200 silent connections and 200 half-sent
    WebSocket handshakes (left for the server to close)."""
    answers: list[bytes] = []
    writers: list[asyncio.StreamWriter] = []  # (a writer that is dropped closes its socket)

    async def raw(data: bytes, address: str) -> asyncio.StreamReader:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
        writer.write(data)
        writers.append(writer)
        return reader

    body = b"POST /api/requests/lookup HTTP/1.1\r\nHost: x\r\nContent-Length: 314572800\r\n\r\n"
    answers.append(await _within(raw(body, ATTACKER[2]), 30))
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Fill: " + b"a" * (1 << 20)
    answers.append(await _within(raw(head, ATTACKER[2]), 30))
    half = b"GET /ws/player HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    readers = [await raw(b"", ATTACKER[3]) for _ in range(200)]
    readers += [await raw(half, ATTACKER[3]) for _ in range(200)]
    started = time.monotonic()
    closed_after: float | None = None
    with contextlib.suppress(TimeoutError):  # (a server that never closes them: None)
        await asyncio.wait_for(asyncio.gather(*(r.read() for r in readers)), 30)
        closed_after = round(time.monotonic() - started, 1)
    for writer in writers:
        writer.close()
    return {
        "declared_300MiB": answers[0][:12].decode(),
        "headers_1MiB": answers[1][:12].decode(),
        "idle_closed_after_s": closed_after,
    }


async def _within(reader: Awaitable[asyncio.StreamReader], seconds: float) -> bytes:
    """The first bytes of the answer, or nothing if none comes in time."""
    with contextlib.suppress(TimeoutError, ConnectionError):
        return await asyncio.wait_for((await reader).read(200), seconds)
    return b""


async def image_bombs(url: str, http_url: str) -> dict[str, Any]:
    """Six GIFs of 400 frames on a 3000x3000 canvas and six 40-megapixel PNGs, at once."""
    conn, welcome = await _guest(url, ATTACKER[4])
    await conn.send(json.dumps({"type": "prechat", **FORM}))
    chat = (await frame_of(conn, {"queued"}))["chat"]
    frames = [Image.new("P", (1, 1), i % 256) for i in range(400)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=10)
    gif = bytearray(out.getvalue())
    gif[6:10] = (3000).to_bytes(2, "little") * 2
    out = io.BytesIO()
    Image.new("1", (6400, 6400)).save(out, "PNG", optimize=True)
    codes: list[int] = []
    async with _http(http_url, ATTACKER[4]) as http:

        async def send(data: bytes, name: str) -> None:
            r = await http.post(
                f"/api/chats/{chat}/files",
                files={"file": (name, data, "image/png")},
                headers={"Authorization": f"Session {welcome['session']}"},
            )
            codes.append(r.status_code)

        await asyncio.gather(
            *(send(bytes(gif), "a.gif") for _ in range(6)),
            *(send(out.getvalue(), "b.png") for _ in range(6)),
        )
    await conn.close()
    return {"answers": sorted(codes)}


async def relay(url: str, got: dict[str, int]) -> dict[str, Any]:
    """20 sessions leave a message naming one stranger and ask for the transcript 3 times."""
    for i in range(20):
        conn, _ = await _guest(url, ATTACKER[5 + i % 3])
        form = {**FORM, "email": "stranger@example.com", "topic": "payments"}
        await conn.send(
            json.dumps({"type": "leave_message", "id": "x", "text": "visit...", **form})
        )
        with contextlib.suppress(TimeoutError, ConnectionClosed):
            await frame_of(conn, {"ended", "error"}, 5)
            for _ in range(3):
                await conn.send('{"type":"email_transcript"}')
        await conn.close()
    await asyncio.sleep(3)
    return {"emails_to_the_stranger": got.pop("mails", 0)}


async def memory(url: str) -> dict[str, Any]:
    """40 guest chats, each writing 16 KB messages as fast as it is allowed, for 15 s."""
    socks = []
    for i in range(40):
        with contextlib.suppress(InvalidStatus, TimeoutError):
            conn, _ = await _guest(url, ATTACKER[i % 8])
            await conn.send(json.dumps({"type": "prechat", **FORM}))
            socks.append(conn)
    n = await _flood(socks, seconds=15, pause=0.05)
    for s in socks:
        await s.close()
    return {"chats": len(socks), "messages_sent": n}


async def nesting(url: str) -> dict[str, Any]:
    """300 frames nested 999 deep on both sockets, before any hello."""
    bad = '{"type":"ping","x":' + "[" * 999 + "]" * 999 + "}"
    answers: dict[str, int] = {}
    for endpoint in ("player", "agent"):
        conn = await ws(f"{url}/ws/{endpoint}", ATTACKER[6])
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            for _ in range(150):
                await conn.send(bad)
            while True:
                frame = await frame_of(conn, {"error"}, 10)
                answers[frame["code"]] = answers.get(frame["code"], 0) + 1
        answers[f"closed_{conn.close_code}"] = answers.get(f"closed_{conn.close_code}", 0) + 1
        await conn.close()
    return {"answers": answers}


@contextlib.asynccontextmanager
async def _http(url: str, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=120) as http:
        yield http


# -- the run ---------------------------------------------------------------------------------


async def hostile(workdir: Path, say: Callable[[str], None]) -> dict[str, Any]:
    from aiosmtpd.controller import Controller

    got: dict[str, int] = {}

    class Count:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            got["mails"] = got.get("mails", 0) + 1
            return "250 OK"

    smtp_port = procs.free_port()
    smtp = Controller(Count(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    db = workdir / "hostile.db"
    store = SqliteStore(db, synchronous="off")
    await store.open()
    await store.migrate()
    await store.add_agent(
        username="boss",
        name="Boss",
        password_hash=hash_password("correct horse battery"),
        role="admin",
        departments=("*",),
        max_chats=3,
        now=time.time(),
    )
    await store.close()
    env = {
        "CHATSERVER_PORT": "0",
        "CHATSERVER_DB": str(db),
        "CHATSERVER_FILES_DIR": str(workdir / "hostile-files"),
        "CHATSERVER_LOG_LEVEL": "warning",
        "CHATSERVER_QUEUE_WITHOUT_AGENTS": "1",
        "CHATSERVER_SMTP_HOST": "127.0.0.1",
        "CHATSERVER_SMTP_PORT": str(smtp_port),
        "CHATSERVER_SMTP_SECURITY": "none",
    }
    server = await procs.start(["-m", "chatserver", "serve"], env)
    port = int(server.url.rsplit(":", 1)[1])
    bystander = Bystander()
    stop = asyncio.Event()
    watching = asyncio.create_task(bystander.run(server.ws, stop))
    results: dict[str, Any] = {}
    attacks: list[tuple[str, Callable[[], Coroutine[Any, Any, dict[str, Any]]]]] = [
        ("quiet", lambda: asyncio.sleep(3, {})),
        ("mail_flood", lambda: mail_flood(server.ws, got)),
        ("sign_ins", lambda: sign_ins(server.url)),
        ("http_abuse", lambda: http_abuse(server.url, port)),
        ("image_bombs", lambda: image_bombs(server.ws, server.url)),
        ("relay", lambda: relay(server.ws, got)),
        ("memory", lambda: memory(server.ws)),
        ("nesting", lambda: nesting(server.ws)),
    ]
    try:
        while not bystander.pings:
            if watching.done():
                watching.result()  # (raises what stopped the bystander)
                raise RuntimeError("the bystander stopped before its first ping")
            await asyncio.sleep(0.05)
        for name, attack in attacks:
            since = bystander.window()
            peak = server.rss_bytes()
            task: asyncio.Task[dict[str, Any]] = asyncio.create_task(attack())
            while not task.done():
                peak = max(peak, server.rss_bytes())
                await asyncio.wait({task}, timeout=0.05)
            figures = {**task.result(), **bystander.figures(since)}
            figures["peak_rss_mib"] = round(peak / 2**20)
            results[name] = figures
            say(f"  hostile {name}: {figures}")
    finally:
        stop.set()
        await asyncio.wait({watching}, timeout=10)
        await server.stop()
        smtp.stop()
    return results
