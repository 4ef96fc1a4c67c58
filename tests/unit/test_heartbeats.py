"""The server's pings: once per interval each, a slot of connections per tick."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from chatserver.hub.heartbeats import PING, Heartbeats


class Conn:
    def __init__(self) -> None:
        self.pushed: list[str] = []

    def push(self, data: str) -> None:
        self.pushed.append(data)


def beats(hb: Heartbeats, n: int) -> None:
    for _ in range(n):
        hb.beat()


def test_each_connection_is_pinged_once_per_interval() -> None:
    hb = Heartbeats(1.0, tick=0.1)  # ten slots
    conns: list[Any] = [Conn() for _ in range(3)]
    for c in conns:
        assert hb.add(c)
    beats(hb, 4)
    late: Any = Conn()
    hb.add(late)
    beats(hb, 6)  # one whole turn of the wheel since the first came
    assert [len(c.pushed) for c in conns] == [1, 1, 1] and all(c.pushed == [PING] for c in conns)
    assert len(late.pushed) <= 1
    beats(hb, 10)
    assert [len(c.pushed) for c in conns] == [2, 2, 2]
    assert 1 <= len(late.pushed) <= 2
    beats(hb, 100)
    assert [len(c.pushed) for c in (*conns, late)] == [12, 12, 12, len(late.pushed)]
    assert len(late.pushed) in (11, 12) and len(hb) == 4


def test_a_crowd_that_comes_at_once_is_spread_over_the_wheel() -> None:
    hb = Heartbeats(1.0, tick=0.1)
    crowd: list[Any] = [Conn() for _ in range(50)]
    for c in crowd:
        hb.add(c)
    per_tick = []
    for _ in range(10):
        before = sum(len(c.pushed) for c in crowd)
        hb.beat()
        per_tick.append(sum(len(c.pushed) for c in crowd) - before)
    assert per_tick == [5] * 10


def test_a_connection_that_went_is_not_pinged_and_adding_twice_is_once() -> None:
    hb = Heartbeats(0.5, tick=0.1)
    a: Any = Conn()
    b: Any = Conn()
    hb.add(a)
    hb.add(a)
    hb.add(b)
    hb.discard(b)
    hb.discard(b)  # a second goodbye is harmless
    beats(hb, 10)
    assert (len(a.pushed), b.pushed, len(hb)) == (2, [], 1)


def test_off_pings_nobody() -> None:
    hb = Heartbeats(0)
    a: Any = Conn()
    assert not hb.enabled and not hb.add(a)
    hb.start()  # no timer without pings
    beats(hb, 5)
    assert a.pushed == [] and len(hb) == 0


async def test_the_ticks_run_on_the_loop_until_stopped() -> None:
    hb = Heartbeats(0.05, tick=0.01)
    a: Any = Conn()
    hb.add(a)
    hb.start()
    try:
        deadline = time.monotonic() + 5
        while len(a.pushed) < 3:
            assert time.monotonic() < deadline, "no pings from the ticks"
            await asyncio.sleep(0.005)
    finally:
        hb.stop()
    count = len(a.pushed)
    await asyncio.sleep(0.1)  # ten ticks' time: none comes after stop
    assert len(a.pushed) == count


def test_never_less_often_than_announced() -> None:
    for interval, slots in ((25.0, 250), (0.3, 3), (0.35, 3), (0.05, 1)):
        hb = Heartbeats(interval, tick=0.1)
        a: Any = Conn()
        hb.add(a)
        beats(hb, slots)
        assert a.pushed == [PING], interval
        assert slots * hb.tick <= interval + 1e-9
