"""A real redis-server of the test's own, on a free port, that a test can stop and restart.

It keeps nothing on disk (``--save ""``), so a restart is a Redis that lost everything:
the worst case nodes must recover from.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from tests.support import free_port, t

__all__ = ["RedisServer", "redis_server"]


class RedisServer:
    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (./scripts/check installs it)")
        self.binary = binary
        self.folder = folder
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
            async with asyncio.timeout(t(10)):
                while True:
                    assert self.proc is not None and self.proc.poll() is None, "redis died"
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
            self.proc.wait(timeout=t(10))
            self.proc = None

    async def restart(self) -> None:
        self.kill()
        await self.start()


@contextlib.asynccontextmanager
async def redis_server(folder: Path) -> AsyncIterator[RedisServer]:
    server = await RedisServer(folder).start()
    try:
        yield server
    finally:
        server.kill()
