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
    "free_port",
    "pin_self",
    "raise_fd_limit",
    "redis_server",
    "start",
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

    async def read() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode(errors="replace")
            p.output.append(line)
            m = _LISTENING.search(line)
            if m and not found.done():
                found.set_result(m.group(1))
        if not found.done():
            found.set_exception(RuntimeError("exited:\n" + "".join(p.output)))

    p._reader = asyncio.create_task(read())
    p.url = await asyncio.wait_for(found, 60)
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def redis_server() -> AsyncIterator[str]:
    """A redis-server of the run's own on a free port, keeping nothing; yields its URL once
    it answers. FileNotFoundError if the binary is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed")
    port = free_port()
    folder = tempfile.mkdtemp(prefix="chatserver-bench-redis-")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        probe = aioredis.from_url(url)
        try:
            for _ in range(200):
                try:
                    await probe.ping()
                    break
                except (OSError, RedisError):
                    await asyncio.sleep(0.05)
        finally:
            await probe.aclose()
        yield url
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
