"""New chats start in slices, first come first served, as the writer keeps up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from chatserver.hub.turns import Turns


class Writer:
    """Stands in for the hub's writer: ``pending`` ops not yet taken."""

    def __init__(self) -> None:
        self.pending = 0
        self.waiters: list[Callable[[], object]] = []

    def when_taken(self, callback: Callable[[], object]) -> None:
        if self.pending:
            self.waiters.append(callback)
        else:
            callback()

    def take(self) -> None:
        self.pending = 0
        waiters, self.waiters = self.waiters, []
        for callback in waiters:
            callback()


async def turn() -> None:
    """Let the loop run the callbacks scheduled so far (not a wait on the clock)."""
    await asyncio.sleep(0)


async def test_a_crowd_starts_in_slices_in_arrival_order() -> None:
    turns = Turns(None, per_turn=16)
    crowd = [turns.take() for _ in range(40)]
    assert not any(t.done() for t in crowd)  # nobody starts inside the read of the crowd
    crowd[3].cancel()  # that player left while waiting: skipped, not counted
    await turn()
    assert [t.done() for t in crowd] == [True] * 17 + [False] * 23
    await turn()
    assert [t.done() for t in crowd] == [True] * 33 + [False] * 7
    await turn()
    assert all(t.done() for t in crowd) and turns.waiting == 0
    alone = turns.take()
    await turn()
    assert alone.done()  # a player on their own starts at the next turn


async def test_the_next_slice_waits_for_the_writer() -> None:
    """While the writer has not taken what the last slice wrote, no new slice starts."""
    writer = Writer()
    turns = Turns(writer, per_turn=2)  # type: ignore[arg-type]
    crowd = [turns.take() for _ in range(5)]
    await turn()
    assert [t.done() for t in crowd] == [True, True, False, False, False]
    writer.pending = 4  # the first slice's chats went to the writer
    for _ in range(3):
        await turn()
    assert [t.done() for t in crowd] == [True, True, False, False, False]
    writer.take()
    await turn()
    assert [t.done() for t in crowd] == [True, True, True, True, False]
    await turn()  # the writer has nothing waiting: the last one goes in the next turn
    assert all(t.done() for t in crowd)


async def test_what_a_slice_schedules_runs_behind_its_players() -> None:
    """``on_slice`` runs as a slice is let in, after its players' wake-ups were
    scheduled: what it schedules (the hub's pairing pass, the writer) runs right behind
    them, in the same turn of the loop, and only for a turn that let somebody in."""
    loop = asyncio.get_running_loop()
    seen: list[str] = []
    turns = Turns(None, per_turn=2, on_slice=lambda: loop.call_soon(seen.append, "slice done"))

    async def player(name: str) -> None:
        await turns.take()
        seen.append(name)

    tasks = [asyncio.ensure_future(player(f"p{i}")) for i in range(3)]
    await asyncio.gather(*tasks)
    assert seen == ["p0", "p1", "slice done", "p2", "slice done"]
    gone = turns.take()
    gone.cancel()  # the only one waiting left: nobody is let in, nothing is scheduled
    for _ in range(3):
        await turn()
    assert seen.count("slice done") == 2
