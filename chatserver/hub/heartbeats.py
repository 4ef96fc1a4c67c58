"""Server pings, sent in ticks: one wake-up of the server for many heartbeats.

A waiting widget costs the server almost nothing but its heartbeat, and what a
heartbeat costs is mostly the wake-up around it, not the frame: when every client
pings on its own timer, the pings arrive spread over time and each one wakes the
server alone. So the server pings instead. Each connection gets a slot on a wheel of
``interval / tick`` slots, the slots taken in turn (so a crowd that connects at once,
after a restart say, is spread over the wheel); every ``tick`` seconds the next slot's
connections are pinged together, once per interval each, and their ``pong``s come back
together.
(Measured with 19,900 waiting widgets: bench/HISTORY.md, "Where the time goes".)

Only connections this node's sockets hold are on its wheel: an edge node pings its
own clients on a wheel of its own (chatserver/cluster/tunnels.py). A client that
answers nothing is closed after ``idle_timeout_seconds``, as before.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..protocol import encode

if TYPE_CHECKING:
    from ..config import Settings
    from .connection import Connection

__all__ = ["PING", "TICK", "Heartbeats", "ping_interval"]

PING = encode({"type": "ping"})
TICK = 0.1  # seconds between two slots' pings


def ping_interval(settings: Settings) -> float:
    """Seconds between two server pings of one socket (0: clients ping): ``ping_seconds``,
    and at least three pings per ``idle_timeout_seconds``."""
    if not settings.ping_seconds:
        return 0.0
    return min(settings.ping_seconds, settings.idle_timeout_seconds / 3)


class Heartbeats:
    __slots__ = (
        "_at",
        "_handle",
        "_loop",
        "_next",
        "_placed",
        "_slot_of",
        "_slots",
        "interval",
        "tick",
    )

    def __init__(self, interval: float, tick: float = TICK) -> None:
        """``interval``: seconds between two pings of one connection (0: no server pings)."""
        self.interval = interval
        self.tick = min(tick, interval) if interval > 0 else tick
        # whole ticks, rounded down: a connection is pinged at least as often as announced
        count = max(1, int(interval / self.tick + 1e-9)) if interval > 0 else 1
        self._slots: list[set[Connection]] = [set() for _ in range(count)]
        self._slot_of: dict[Connection, int] = {}
        self._next = 0  # the slot pinged at the next tick
        self._placed = 0  # connections placed so far: the next one takes the next slot
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._at = 0.0

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    def __len__(self) -> int:
        return len(self._slot_of)

    def start(self) -> None:
        if not self.enabled or self._handle is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._at = self._loop.time() + self.tick
        self._handle = self._loop.call_at(self._at, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def add(self, conn: Connection) -> bool:
        """Ping ``conn`` once per interval from now on (the first within one interval);
        False if server pings are off."""
        if not self.enabled:
            return False
        if conn not in self._slot_of:
            slot = self._placed % len(self._slots)
            self._placed += 1
            self._slots[slot].add(conn)
            self._slot_of[conn] = slot
        return True

    def discard(self, conn: Connection) -> None:
        slot = self._slot_of.pop(conn, None)
        if slot is not None:
            self._slots[slot].discard(conn)

    def beat(self) -> None:
        """One tick: ping the next slot's connections."""
        slot = self._next
        self._next = (slot + 1) % len(self._slots)
        for conn in tuple(self._slots[slot]):
            conn.push(PING)

    def _tick(self) -> None:
        assert self._loop is not None
        self.beat()
        # a fixed schedule: a late tick does not push every later one back
        self._at = max(self._at + self.tick, self._loop.time())
        self._handle = self._loop.call_at(self._at, self._tick)
