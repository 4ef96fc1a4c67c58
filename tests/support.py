"""Shared test machinery: a real uvicorn server on port 0, real WebSocket clients,
and a server in a subprocess for crash and restart tests.

Nothing here sleeps to wait: every wait is for a frame, a line or an exit, with a
timeout scaled by CHATSERVER_TEST_TIMEOUT_FACTOR.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.procs import free_port, watch_output
from chatserver.app import create_app
from chatserver.config import Settings
from chatserver.hub import Hub
from chatserver.security import hash_password, new_token, token_hash
from chatserver.server import uvicorn_config

FACTOR = float(os.environ.get("CHATSERVER_TEST_TIMEOUT_FACTOR", "1"))


def t(seconds: float) -> float:
    """A timeout, scaled for slow machines."""
    return seconds * FACTOR


# -- in-process server ---------------------------------------------------------


class _TestServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield  # leave pytest's signal handlers alone


@dataclass
class RunningServer:
    settings: Settings
    port: int
    app: Any
    server: _TestServer
    fatal: list[Exception] = field(default_factory=list)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.hub
        return hub

    async def rows(self, query: str) -> list[tuple[Any, ...]]:
        """Rows of a query on the server's database, SQLite or PostgreSQL alike."""
        return await sql_rows(self.settings, query)


async def sql_rows(settings: Settings, query: str) -> list[tuple[Any, ...]]:
    """Rows of a query (no parameters) on the database ``settings`` point at."""
    if settings.database_url:
        return await pg_rows(settings.database_url, query)
    import sqlite3

    with contextlib.closing(sqlite3.connect(settings.db)) as db:
        return db.execute(query).fetchall()


async def sql_exec(settings: Settings, statement: str) -> None:
    """Run a statement and commit it, behind the server's back (a test that tampers)."""
    if settings.database_url:
        await pg_rows(settings.database_url, statement)
        return
    import sqlite3

    with contextlib.closing(sqlite3.connect(settings.db)) as db:
        db.execute(statement)
        db.commit()


async def pg_rows(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of a query on a PostgreSQL database, from a connection of the test's own."""
    import asyncpg

    conn = await asyncpg.connect(url, timeout=t(10))
    try:
        return [tuple(r) for r in await conn.fetch(query, *args)]
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def running_server(settings: Settings) -> AsyncIterator[RunningServer]:
    """uvicorn with the production configuration, on a free port, in this event loop."""
    fatal: list[Exception] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = settings.replace(port=port)  # links the server builds point at itself
    app = create_app(settings, on_fatal=fatal.append)
    server = _TestServer(uvicorn_config(app, settings, loop="none", port=port))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    ready = asyncio.create_task(server.ready.wait())
    done, _ = await asyncio.wait({task, ready}, timeout=t(10), return_when="FIRST_COMPLETED")
    if ready not in done:
        ready.cancel()
        if task.done():
            task.result()
        raise TimeoutError("server did not start")
    try:
        yield RunningServer(settings, port, app, server, fatal)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, t(15))
        sock.close()


@contextlib.asynccontextmanager
async def serve_asgi(app: Any, port: int = 0) -> AsyncIterator[str]:
    """Any small ASGI app (a platform's API, a host site) on a port of its own; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = _TestServer(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await asyncio.wait_for(server.ready.wait(), t(10))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, t(15))
        sock.close()


async def make_agent(
    srv: RunningServer,
    username: str,
    *,
    name: str | None = None,
    max_chats: int = 3,
    role: str = "agent",
    password: str = "correct horse battery",
    departments: tuple[str, ...] = ("*",),
) -> str:
    """Create an agent in the server's store; returns an API token for them."""
    store = srv.hub.store
    agent = await store.add_agent(
        username=username,
        name=name or username.capitalize(),
        password_hash=hash_password(password),
        role=role,
        departments=departments,
        max_chats=max_chats,
        now=time.time(),
    )
    token = new_token("cst_")
    await store.add_token(agent.id, token_hash(token), "test", time.time())
    return token


# -- WebSocket client ----------------------------------------------------------


class WS:
    """A real WebSocket client that speaks our JSON frames."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.seen: list[dict[str, Any]] = []
        # the server's pings are answered as the widget answers them, and not returned
        self.answer_pings = True
        self.pings = 0  # answered so far

    @classmethod
    async def open(cls, url: str, **kwargs: Any) -> WS:
        # no client-side back-pressure: a test that leaves frames unread would otherwise
        # stop the client reading, and its close() would wait out the close timeout for a
        # close frame it cannot read
        kwargs.setdefault("max_queue", None)
        conn = await connect(url, proxy=None, open_timeout=t(5), compression=None, **kwargs)
        return cls(conn)

    async def send(self, type_: str, **fields: Any) -> None:
        await self.conn.send(json.dumps({"type": type_, **fields}))

    async def send_raw(self, data: str | bytes) -> None:
        await self.conn.send(data)

    async def recv(self, timeout: float = 5) -> dict[str, Any]:
        deadline = time.monotonic() + t(timeout)
        while True:
            left = deadline - time.monotonic()
            raw = await asyncio.wait_for(self.conn.recv(), max(left, 0.001))
            frame: dict[str, Any] = json.loads(raw)
            if self.answer_pings and frame["type"] == "ping":
                self.pings += 1
                await self.conn.send('{"type":"pong"}')
                continue
            self.seen.append(frame)
            return frame

    async def expect(self, type_: str, timeout: float = 5, **match: Any) -> dict[str, Any]:
        """The next frame of this type (and these field values); other frames are skipped."""
        deadline = time.monotonic() + t(timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {type_} {match} frame; seen: {self.seen[-10:]}")
            frame = await self.recv(left / FACTOR)
            if frame["type"] == type_ and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def expect_error(self, code: str, timeout: float = 5, **match: Any) -> dict[str, Any]:
        return await self.expect("error", timeout, code=code, **match)

    async def barrier(self) -> list[dict[str, Any]]:
        """Ping and wait for the pong; returns the frames that arrived before it.

        Anything the server decided to send before handling the ping is in the list,
        so a test can assert that something was *not* sent.
        """
        mark = len(self.seen)
        await self.send("ping")
        await self.expect("pong")
        return self.seen[mark:-1]

    async def closed(self, timeout: float = 5) -> int | None:
        """Wait for the server to close the connection; returns the close code."""
        try:
            async with asyncio.timeout(t(timeout)):
                while True:
                    raw = await self.conn.recv()
                    self.seen.append(json.loads(raw))
        except ConnectionClosed:
            pass
        return self.conn.close_code

    async def close(self) -> None:
        await self.conn.close()


async def player(
    srv: RunningServer | str,
    *,
    resume: str | None = None,
    last_seq: int | None = None,
    **headers: str,
) -> tuple[WS, dict[str, Any]]:
    """A player connection after hello; returns it and the welcome frame."""
    base = srv if isinstance(srv, str) else srv.ws
    ws = await WS.open(f"{base}/ws/player", additional_headers=headers or None)
    hello: dict[str, Any] = {"v": 1}
    if resume is not None:
        hello["resume"] = resume
    if last_seq is not None:
        hello["last_seq"] = last_seq
    await ws.send("hello", **hello)
    return ws, await ws.expect("welcome")


async def start_chat(
    srv: RunningServer | str,
    name: str = "Mehmet",
    topic: str = "technical",
    email: str = "mehmet@example.com",
    **fields: Any,
) -> tuple[WS, dict[str, Any]]:
    """A guest who has sent the pre-chat form; returns the connection and welcome."""
    ws, welcome = await player(srv)
    await ws.send("prechat", name=name, topic=topic, email=email, age_confirmed=True, **fields)
    return ws, welcome


async def agent(
    srv: RunningServer | str,
    token: str,
    *,
    status: str | None = "online",
    chats: dict[str, int] | None = None,
) -> tuple[WS, dict[str, Any]]:
    """An agent connection after hello; returns it and the welcome frame."""
    base = srv if isinstance(srv, str) else srv.ws
    ws = await WS.open(f"{base}/ws/agent")
    hello: dict[str, Any] = {"v": 1, "token": token}
    if status is not None:
        hello["status"] = status
    if chats is not None:
        hello["chats"] = chats
    await ws.send("hello", **hello)
    return ws, await ws.expect("welcome")


# -- server in a subprocess ----------------------------------------------------


class ServerProcess:
    """``python -m chatserver serve`` in a child process, for crash and signal tests."""

    def __init__(self, db: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.db = db
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.proc: asyncio.subprocess.Process | None = None
        self.output: list[str] = []
        self.url = ""
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> ServerProcess:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chatserver",
            "serve",
            "--port",
            "0",
            "--db",
            str(self.db),
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
        )
        found: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        assert self.proc.stdout is not None
        self._reader = asyncio.create_task(watch_output(self.proc.stdout, self.output, found))
        try:
            self.url = await asyncio.wait_for(found, t(20))
        except TimeoutError:
            raise TimeoutError("server did not start:\n" + "".join(self.output)) from None
        return self

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send a signal and wait for the exit code."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), t(timeout))
        if self._reader is not None:
            await asyncio.wait_for(self._reader, t(5))
        return code


class Mailbox:
    """A real SMTP server (aiosmtpd) on a free port; tests wait for the mails it gets."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        import email
        from email import policy

        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (envelope.rcpt_tos, msg))
        return "250 OK"

    async def next(self, timeout: float = 10, *, receipts: bool = False) -> tuple[list[str], Any]:
        """The next mail: (recipients, email.message.EmailMessage). The receipt every new
        request sends its player ("We received your request ...") is skipped unless
        ``receipts``."""
        while True:
            to, msg = await asyncio.wait_for(self.queue.get(), t(timeout))
            subject = str(msg["Subject"])
            if receipts or not subject.startswith(("Talebiniz alındı", "We received")):
                return to, msg

    def settings(self) -> dict[str, Any]:
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_security": "none"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics scrape (parsed as Prometheus would), by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


SAMPLE_KB = Path(__file__).resolve().parents[1] / "examples" / "kb"


async def load_sample_kb(srv: RunningServer) -> int:
    """The sample knowledge base (examples/kb) in the server's store and index."""
    from chatserver.kb.folder import read_folder

    kb = srv.app.state.kb
    articles = read_folder(SAMPLE_KB, list(kb.topics))
    await kb.save(articles, by="test")
    return len(articles)
