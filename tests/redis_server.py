"""A real redis-server of the test's own, on a free port, that a test can stop and restart
(bench.procs.RedisServer, with the test suite's timeouts; skipped where none is installed).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench import procs
from tests.support import t

__all__ = ["RedisServer", "redis_server"]


class RedisServer(procs.RedisServer):
    def __init__(self, folder: Path) -> None:
        try:
            super().__init__(folder, timeout=t(10))
        except FileNotFoundError:
            pytest.skip("redis-server is not installed (./scripts/check installs it)")


@contextlib.asynccontextmanager
async def redis_server(folder: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(folder)
    await server.start()
    try:
        yield server
    finally:
        server.kill()
