"""Queues and who gets which chat: pure, synchronous, time passed in.

- One queue per department, ordered by priority (urgent first), then chats sent
  back to the queue (front), then arrival time.
- An agent takes chats only from departments they belong to (``*`` = all), only
  while ``online`` and below ``max_chats``. Among free agents the policy picks
  the fewest active chats, then the one idle longest, then the lowest id.
- A chat waiting longer than its department's overflow time may also go to the
  agents of the fallback department.
- A chat an agent sent back is never given to that agent again while it waits
  (``avoid``); others behind it may be, so nobody idles.
- Across departments, a free agent takes the most urgent, longest-waiting chat
  among those they may take.

The agent choice is a plain function (``Policy``) so it can be replaced.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ..exceptions import StateError

__all__ = [
    "ALL_DEPARTMENTS",
    "AgentSlot",
    "AgentStatus",
    "Overflow",
    "Policy",
    "RollingAverage",
    "Router",
    "estimate_wait",
    "fewest_chats_then_longest_idle",
]

ALL_DEPARTMENTS = "*"
_SCAN = 64  # how deep to look into one queue for a chat a free agent may take


class AgentStatus(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


@dataclass(slots=True)
class AgentSlot:
    """What routing needs to know about one agent."""

    agent_id: int
    max_chats: int
    departments: frozenset[str] = frozenset({ALL_DEPARTMENTS})
    status: AgentStatus = AgentStatus.OFFLINE
    active: int = 0
    idle_since: float = 0.0

    @property
    def free(self) -> bool:
        return self.status is AgentStatus.ONLINE and self.active < self.max_chats

    def serves(self, department: str) -> bool:
        return ALL_DEPARTMENTS in self.departments or department in self.departments


@dataclass(frozen=True, slots=True)
class Overflow:
    """After ``after`` seconds of waiting, a chat may also go to ``to``'s agents."""

    after: float
    to: str


Policy = Callable[[Iterable[AgentSlot]], AgentSlot | None]


def fewest_chats_then_longest_idle(agents: Iterable[AgentSlot]) -> AgentSlot | None:
    """The default choice among free agents: fewest active chats, then idle longest."""
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


_Key = tuple[int, int, float, int]


@dataclass(slots=True)
class _Entry:
    chat_id: str
    department: str
    key: _Key
    queued_at: float
    avoid: int | None = None


@dataclass(slots=True)
class Router:
    """Department queues and agents' load, deciding assignments."""

    overflow: Mapping[str, Overflow] = field(default_factory=dict)
    policy: Policy = fewest_chats_then_longest_idle
    agents: dict[int, AgentSlot] = field(default_factory=dict)
    _queues: dict[str, list[_Key]] = field(default_factory=dict)
    _by_key: dict[_Key, _Entry] = field(default_factory=dict)
    _by_chat: dict[str, _Entry] = field(default_factory=dict)
    _counter: int = 0

    # -- queues ------------------------------------------------------------------

    def enqueue(
        self,
        chat_id: str,
        department: str,
        queued_at: float,
        *,
        priority: int = 0,
        front: bool = False,
        avoid: int | None = None,
    ) -> None:
        """Queue a chat (front = it had an agent); never give it to ``avoid``."""
        if chat_id in self._by_chat:
            raise StateError(message=f"chat {chat_id} is already queued")
        self._counter += 1
        key = (-priority, 0 if front else 1, queued_at, self._counter)
        entry = _Entry(chat_id, department, key, queued_at, avoid)
        bisect.insort(self._queues.setdefault(department, []), key)
        self._by_key[key] = entry
        self._by_chat[chat_id] = entry

    def remove(self, chat_id: str) -> bool:
        """Take a chat out of its queue; False if it was not queued."""
        entry = self._by_chat.get(chat_id)
        if entry is None:
            return False
        queue = self._queues[entry.department]
        del queue[bisect.bisect_left(queue, entry.key)]
        del self._by_key[entry.key]
        del self._by_chat[chat_id]
        return True

    def position(self, chat_id: str) -> int | None:
        """1-based place in its department's queue, or None."""
        entry = self._by_chat.get(chat_id)
        if entry is None:
            return None
        return bisect.bisect_left(self._queues[entry.department], entry.key) + 1

    def department_of(self, chat_id: str) -> str | None:
        entry = self._by_chat.get(chat_id)
        return None if entry is None else entry.department

    def __len__(self) -> int:
        return len(self._by_chat)

    def __contains__(self, chat_id: object) -> bool:
        return chat_id in self._by_chat

    def departments(self) -> list[str]:
        """Departments with chats waiting."""
        return [d for d, keys in self._queues.items() if keys]

    def queue_length(self, department: str) -> int:
        return len(self._queues.get(department, ()))

    def queued(self, department: str | None = None) -> Iterator[str]:
        """Chat ids in queue order, for one department or (department by department) all."""
        departments = [department] if department is not None else list(self._queues)
        for dep in departments:
            for key in list(self._queues.get(dep, ())):
                yield self._by_key[key].chat_id

    def oldest_wait(self, now: float) -> float:
        """Seconds the longest-waiting queued chat has waited."""
        return max((now - e.queued_at for e in self._by_chat.values()), default=0.0)

    # -- agents --------------------------------------------------------------------

    def upsert_agent(
        self, agent_id: int, max_chats: int, departments: Iterable[str] = (ALL_DEPARTMENTS,)
    ) -> AgentSlot:
        slot = self.agents.get(agent_id)
        if slot is None:
            slot = self.agents[agent_id] = AgentSlot(agent_id, max_chats)
        slot.max_chats = max_chats
        slot.departments = frozenset(departments) or frozenset({ALL_DEPARTMENTS})
        return slot

    def set_status(self, agent_id: int, status: AgentStatus, now: float) -> None:
        slot = self.agents[agent_id]
        if status is AgentStatus.ONLINE and slot.status is not AgentStatus.ONLINE:
            slot.idle_since = now
        slot.status = status

    def take(self, agent_id: int, now: float) -> None:
        """The agent got one more chat (an assignment, a transfer, or a restart)."""
        slot = self.agents[agent_id]
        slot.active += 1
        slot.idle_since = now

    def release(self, agent_id: int) -> None:
        """One of the agent's chats ended or left them."""
        slot = self.agents.get(agent_id)
        if slot is not None and slot.active > 0:
            slot.active -= 1

    def capacity(self, department: str | None = None) -> int:
        """Chat slots of online agents (serving the department, if one is given)."""
        return sum(
            a.max_chats
            for a in self.agents.values()
            if a.status is AgentStatus.ONLINE and (department is None or a.serves(department))
        )

    # -- decisions -------------------------------------------------------------------

    def _may_take(self, agent: AgentSlot, entry: _Entry, now: float) -> bool:
        if agent.agent_id == entry.avoid:
            return False
        if agent.serves(entry.department):
            return True
        rule = self.overflow.get(entry.department)
        return rule is not None and now - entry.queued_at >= rule.after and agent.serves(rule.to)

    def assignments(self, now: float) -> list[tuple[str, int]]:
        """Pair queued chats with free agents, most urgent and longest waiting first."""
        out: list[tuple[str, int]] = []
        while True:
            free = [a for a in self.agents.values() if a.free]
            if not free:
                return out
            best: tuple[_Entry, AgentSlot] | None = None
            for keys in self._queues.values():
                for key in keys[:_SCAN]:
                    if best is not None and key >= best[0].key:
                        break  # nothing deeper in this queue beats what we have
                    entry = self._by_key[key]
                    agent = self.policy(a for a in free if self._may_take(a, entry, now))
                    if agent is not None:
                        best = (entry, agent)
                        break
            if best is None:
                return out
            entry, agent = best
            self.remove(entry.chat_id)
            agent.active += 1
            agent.idle_since = now
            out.append((entry.chat_id, agent.agent_id))


def estimate_wait(position: int, capacity: int, avg_handle_seconds: float) -> int | None:
    """Seconds until a queued player at ``position`` is likely served; None if nobody serves.

    A queued player means every slot that could serve them is busy; slots free up at
    about ``capacity / avg_handle_seconds`` per second. Rounded up to 15 s steps under
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
