"""Bounded pools for CPU work that must not run on the event loop.

Password hashing, image decoding and building e-mails each take milliseconds to
seconds of CPU. They run on a few worker threads of their own (argon2, Pillow and
zlib release the GIL while they work), and each pool takes at most ``workers +
queue`` jobs at once: one more is refused at once with ``busy`` (HTTP 503), instead
of waiting in a line that grows without end while a bystander's ping waits behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .exceptions import ClientError

__all__ = ["BoundedPool", "Busy", "Pools"]

T = TypeVar("T")


class Busy(ClientError):
    """A bounded pool is full: try again shortly."""

    code = "busy"
    http_status = 503


class BoundedPool:
    """``await pool.run(fn, *args)``: ``fn`` on a worker thread, or ``Busy`` when full."""

    def __init__(self, name: str, workers: int, queue: int) -> None:
        self.name = name
        self.capacity = workers + queue
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix=f"chatserver-{name}")
        self.in_flight = 0
        self.refused = 0

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        # counted before anything awaits: N callers at once take N places
        if self.in_flight >= self.capacity:
            self.refused += 1
            raise Busy("busy", "the server is busy; try again in a few seconds", retry_after=2)
        self.in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        finally:
            self.in_flight -= 1

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class Pools:
    """The server's pools: ``passwords`` (argon2), ``images`` (Pillow), ``mail``, ``files``
    (reading encrypted attachments); each with
    ``workers`` threads and room for ``queue`` more jobs waiting; and ``search`` (the
    knowledge base's index), one thread with room for ``4 * queue``; ``reports``, one thread."""

    def __init__(self, workers: int = 2, queue: int = 8) -> None:
        self.passwords = BoundedPool("passwords", workers, queue)
        self.images = BoundedPool("images", workers, queue)
        self.mail = BoundedPool("mail", workers, queue)
        # reading (decrypting) and deleting kept files
        self.files = BoundedPool("files", workers, queue)
        # the knowledge base's index: one thread, so it is never read while it changes
        self.search = BoundedPool("search", 1, max(queue, 1) * 4)
        # reports built from summed rollups
        self.reports = BoundedPool("reports", 1, queue)

    def close(self) -> None:
        for pool in (self.passwords, self.images, self.mail, self.files, self.search, self.reports):
            pool.close()
