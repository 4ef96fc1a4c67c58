"""Processes under test: start them on the server's core, watch their CPU time and memory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import RedisError

__all__ = [
    "FD_LIMIT",
    "FD_RESERVE",
    "Proc",
    "RedisServer",
    "free_port",
    "pin_self",
    "raise_fd_limit",
    "redis_server",
    "start",
    "stolen_seconds",
    "watch_output",
]

SERVER_CORE = 0
LOADGEN_CORE = 1
FD_LIMIT = 65536
FD_RESERVE = 100  # descriptors a process needs besides its sockets (files, the database)
_LISTENING = re.compile(r"listening on (http://\S+)")


def raise_fd_limit() -> int:
    """As many open files as we may have (root may raise the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for want in (FD_LIMIT, hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
            return want
        except (ValueError, OSError):
            continue
    return soft


def stolen_seconds(core: int = SERVER_CORE) -> float:
    """CPU time the hypervisor has taken from ``core`` so far (a VM's steal time: while it
    runs, nothing on that core runs, however idle the guest thinks the core is)."""
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith(f"cpu{core} "):
                return int(line.split()[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        pass
    return 0.0


def pin_self() -> None:
    """The load generator runs on its own core, away from the server's."""
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
        os.sched_setaffinity(0, {LOADGEN_CORE})


def _server_child() -> None:
    raise_fd_limit()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {SERVER_CORE})


@dataclass
class Proc:
    proc: asyncio.subprocess.Process
    url: str
    output: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.terminate()
        code = await asyncio.wait_for(self.proc.wait(), 60)
        if self._reader is not None:
            await self._reader
        return code


async def start(args: list[str], env: dict[str, str] | None = None) -> Proc:
    """Start ``python <args>`` pinned to the server core; wait for its 'listening on' line."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        preexec_fn=_server_child,
    )
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    p = Proc(proc, "")
    assert proc.stdout is not None
    p._reader = asyncio.create_task(watch_output(proc.stdout, p.output, found))
    p.url = await asyncio.wait_for(found, 60)
    return p


async def watch_output(
    stream: asyncio.StreamReader, output: list[str], found: asyncio.Future[str]
) -> None:
    """Keep a child server's output lines in ``output``; resolve ``found`` with the address
    of its 'listening on' line, or fail it with the output if the child exits first."""
    async for raw in stream:
        line = raw.decode(errors="replace")
        output.append(line)
        m = _LISTENING.search(line)
        if m and not found.done():
            found.set_result(m.group(1))
    if not found.done():
        found.set_exception(RuntimeError("server exited:\n" + "".join(output)))


def free_port() -> int:
    """A port nothing listens on right now (for servers that must be told one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A redis-server of our own on a free port, that can be stopped and restarted. It keeps
    nothing on disk (``--save ""``), so a restart is a Redis that lost everything: the worst
    case nodes must recover from. FileNotFoundError if redis-server is not installed."""

    def __init__(self, folder: Path, *, timeout: float = 10.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        self.binary = binary
        self.folder = folder
        self.timeout = timeout
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await self.wait_up()
        return self

    async def wait_up(self) -> None:
        """Until the server answers PING (the port can take a moment to open)."""
        client = aioredis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    if self.proc is None or self.proc.poll() is not None:
                        raise RuntimeError(f"redis-server exited; see {self.folder / 'redis.log'}")
                    try:
                        await client.ping()
                        return
                    except (RedisError, OSError):
                        await asyncio.sleep(0.02)  # polling a condition, with a deadline
        finally:
            await client.aclose()

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=self.timeout)
            self.proc = None

    async def restart(self) -> None:
        self.kill()
        await self.start()


@contextlib.asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    """A RedisServer for the run, in a folder of its own; yields its URL once it answers."""
    folder = Path(tempfile.mkdtemp(prefix="chatserver-bench-redis-"))
    try:
        server = await RedisServer(folder).start()
        try:
            yield server.url
        finally:
            server.kill()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
