"""The queue and who gets which chat: pure, synchronous, time passed in.

One FIFO queue. A chat that lost its agent goes back to the *front* (ahead of
everyone who never had an agent; among such chats, the longest waiting first).
A chat an agent sent back to the queue is never given to that agent again while
it waits (``avoid``); the next chat in line may be, so nobody idles.
An agent takes work only while ``online`` and below ``max_chats``. Among free
agents the policy picks the fewest active chats, then the one idle longest
(idle since their last assignment or since coming online), then the lowest id.

The choice of agent is a plain function (``Policy``) so a later routing policy
can replace it without touching the queue or the hub.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from ..exceptions import StateError

__all__ = [
    "AgentSlot",
    "AgentStatus",
    "Policy",
    "RollingAverage",
    "Router",
    "estimate_wait",
    "fewest_chats_then_longest_idle",
]


class AgentStatus(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass(slots=True)
class AgentSlot:
    """What routing needs to know about one agent."""

    agent_id: int
    max_chats: int
    status: AgentStatus = AgentStatus.OFFLINE
    active: int = 0
    idle_since: float = 0.0

    @property
    def free(self) -> bool:
        return self.status is AgentStatus.ONLINE and self.active < self.max_chats


Policy = Callable[[Iterable[AgentSlot]], AgentSlot | None]

_Key = tuple[int, float, int]


def fewest_chats_then_longest_idle(agents: Iterable[AgentSlot]) -> AgentSlot | None:
    """The default choice among agents: fewest active chats, then idle longest."""
    best: AgentSlot | None = None
    for a in agents:
        if not a.free:
            continue
        if best is None or (a.active, a.idle_since, a.agent_id) < (
            best.active,
            best.idle_since,
            best.agent_id,
        ):
            best = a
    return best


class Router:
    """The waiting queue and the agents' load, deciding assignments."""

    def __init__(self, policy: Policy = fewest_chats_then_longest_idle) -> None:
        self.policy = policy
        self.agents: dict[int, AgentSlot] = {}
        self._order: list[_Key] = []
        self._chat_of: dict[_Key, str] = {}
        self._key_of: dict[str, _Key] = {}
        self._avoid: dict[str, int] = {}
        self._counter = 0

    # -- queue ---------------------------------------------------------------

    def enqueue(
        self, chat_id: str, queued_at: float, *, front: bool = False, avoid: int | None = None
    ) -> None:
        """Put a chat in the queue (front = it had an agent); never give it to ``avoid``."""
        if chat_id in self._key_of:
            raise StateError(message=f"chat {chat_id} is already queued")
        self._counter += 1
        key = (0 if front else 1, queued_at, self._counter)
        bisect.insort(self._order, key)
        self._chat_of[key] = chat_id
        self._key_of[chat_id] = key
        if avoid is not None:
            self._avoid[chat_id] = avoid

    def remove(self, chat_id: str) -> bool:
        """Take a chat out of the queue; False if it was not there."""
        key = self._key_of.get(chat_id)
        if key is None:
            return False
        del self._order[bisect.bisect_left(self._order, key)]
        self._forget(key, chat_id)
        return True

    def _forget(self, key: _Key, chat_id: str) -> None:
        del self._chat_of[key]
        del self._key_of[chat_id]
        self._avoid.pop(chat_id, None)

    def position(self, chat_id: str) -> int | None:
        """1-based place in the queue, or None."""
        key = self._key_of.get(chat_id)
        return None if key is None else bisect.bisect_left(self._order, key) + 1

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, chat_id: object) -> bool:
        return chat_id in self._key_of

    def queued(self) -> Iterator[str]:
        """Chat ids in queue order."""
        return (self._chat_of[k] for k in self._order)

    def oldest_wait(self, now: float) -> float:
        """Seconds the longest-waiting queued chat has waited."""
        return max((now - k[1] for k in self._order), default=0.0)

    # -- agents --------------------------------------------------------------

    def upsert_agent(self, agent_id: int, max_chats: int) -> AgentSlot:
        slot = self.agents.get(agent_id)
        if slot is None:
            slot = self.agents[agent_id] = AgentSlot(agent_id, max_chats)
        slot.max_chats = max_chats
        return slot

    def set_status(self, agent_id: int, status: AgentStatus, now: float) -> None:
        slot = self.agents[agent_id]
        if status is AgentStatus.ONLINE and slot.status is not AgentStatus.ONLINE:
            slot.idle_since = now
        slot.status = status

    def take(self, agent_id: int, now: float) -> None:
        """The agent got one more chat (assignment or restored after a restart)."""
        slot = self.agents[agent_id]
        slot.active += 1
        slot.idle_since = now

    def release(self, agent_id: int) -> None:
        """One of the agent's chats ended or left them."""
        slot = self.agents.get(agent_id)
        if slot is not None and slot.active > 0:
            slot.active -= 1

    def capacity(self) -> int:
        """Chat slots of agents who are online (busy or not)."""
        return sum(a.max_chats for a in self.agents.values() if a.status is AgentStatus.ONLINE)

    # -- decisions -----------------------------------------------------------

    def assignments(self, now: float) -> list[tuple[str, int]]:
        """Pair queued chats, in order, with free agents until one side runs out."""
        out: list[tuple[str, int]] = []
        i = 0
        while i < len(self._order):
            key = self._order[i]
            chat_id = self._chat_of[key]
            avoid = self._avoid.get(chat_id)
            candidates = (a for a in self.agents.values() if a.agent_id != avoid)
            agent = self.policy(candidates)
            if agent is None:
                if avoid is None or self.policy(self.agents.values()) is None:
                    break  # nobody is free at all
                i += 1  # only the avoided agent is free: try the next chat
                continue
            del self._order[i]
            self._forget(key, chat_id)
            agent.active += 1
            agent.idle_since = now
            out.append((chat_id, agent.agent_id))
        return out


def estimate_wait(position: int, capacity: int, avg_handle_seconds: float) -> int | None:
    """Seconds until a queued player at ``position`` is likely served; None if nobody serves.

    A queued player means every online slot is busy; slots free up at about
    ``capacity / avg_handle_seconds`` per second. Rounded up to 15 s steps under
    five minutes and to whole minutes above, so the figure does not flicker.
    """
    if capacity <= 0:
        return None
    raw = position * avg_handle_seconds / capacity
    step = 15 if raw < 300 else 60
    return int(math.ceil(raw / step) * step)


class RollingAverage:
    """Mean of the last ``window`` samples, ``default`` until there are any."""

    def __init__(self, window: int, default: float) -> None:
        self._samples: deque[float] = deque(maxlen=window)
        self._default = default

    def add(self, value: float) -> None:
        self._samples.append(value)

    @property
    def value(self) -> float:
        return sum(self._samples) / len(self._samples) if self._samples else self._default
