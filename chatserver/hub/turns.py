"""New chats in slices: a crowd arriving at once is let in a slice at a time.

A crowd that arrives at once (a promotion ends, a game goes down) reaches the
server in one read of its sockets. If each pre-chat form were handled as it was
read, the whole crowd would be queued before the writer could store, and the
hub tell, the first of them: the first player in would wait for the last one's
work, and every chat would wait out the crowd after being queued. So a new chat
starts at a turn: the next turn of the event loop, ``per_turn`` chats per turn
at most, and a turn comes only once the writer has taken what the slice before
it wrote (``Writer.when_taken``). The first slice is queued, stored, assigned
and told while the rest wait in arrival order: early players are served early,
a chat's time from queued to assigned is its own slice's, and a server that
falls behind stops starting chats faster than it stores them.

``on_slice`` runs as a slice is let in, after its players' wake-ups are
scheduled: the hub schedules its pairing pass and the writer there, so the
slice's chats are queued, assigned, stored and told in the same turn of the
loop. Otherwise the writer would wake only in the turn after they were queued,
behind one more read of every socket, which in a crowd is the crowd itself.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .writer import Writer

__all__ = ["PER_TURN", "Turns"]

# chats started per slice; bench/HISTORY.md ("Where the time goes") has the measurements
PER_TURN = 16


class Turns:
    __slots__ = ("_deferred", "_handle", "_on_slice", "_waiting", "_writer", "per_turn")

    def __init__(
        self,
        writer: Writer | None = None,
        per_turn: int = PER_TURN,
        on_slice: Callable[[], object] | None = None,
    ) -> None:
        self._writer = writer
        self._on_slice = on_slice
        self.per_turn = per_turn
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._handle: asyncio.Handle | None = None
        self._deferred = False  # waiting for the writer to catch up

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def take(self) -> asyncio.Future[None]:
        """A future done at the chat's turn (first come, first served): the next turn of
        the loop, unless a crowd is ahead of it."""
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        self._schedule()
        return turn

    def _schedule(self) -> None:
        if self._handle is None and not self._deferred:
            self._handle = asyncio.get_running_loop().call_soon(self._next)

    def _next(self) -> None:
        """A new turn: let the next slice in, once the writer has taken the last one's ops."""
        self._handle = None
        writer = self._writer
        if writer is not None and writer.pending:
            # the slice before has not been taken by the writer yet
            self._deferred = True
            writer.when_taken(self._caught_up)
            return
        waiting = self._waiting
        started = 0
        while waiting and started < self.per_turn:
            turn = waiting.popleft()
            if not turn.done():  # its connection went away while it waited
                turn.set_result(None)
                started += 1
        if started and self._on_slice is not None:
            self._on_slice()
        if waiting:
            self._schedule()

    def _caught_up(self) -> None:
        self._deferred = False
        self._schedule()
