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
- Bots (``bot=True``) serve only bot queues (``bot_queue(department)``): a chat of a
  ``bot_first`` topic waits there for a bot, and people never take it from there; when the
  bot hands it off, it is queued for people like any chat sent back.

The agent choice is a plain sort key (``Policy``) so it can be replaced. Free agents
are kept in one heap per department they serve, so an assignment costs a few heap
operations, not a pass over every agent: a burst of thousands of players meeting
hundreds of agents is paired in milliseconds.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..exceptions import StateError

__all__ = [
    "ALL_DEPARTMENTS",
    "BOT_PREFIX",
    "bot_queue",
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
BOT_PREFIX = "bot:"


def bot_queue(department: str) -> str:
    """The queue where a department's chats wait for a bot."""
    return BOT_PREFIX + department


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
    bot: bool = False  # its departments are bot queues (bot:<department>, bot:*)

    @property
    def free(self) -> bool:
        return self.status is AgentStatus.ONLINE and self.active < self.max_chats

    def serves(self, department: str) -> bool:
        everything = bot_queue(ALL_DEPARTMENTS) if self.bot else ALL_DEPARTMENTS
        if department.startswith(BOT_PREFIX) != self.bot:
            return False
        return everything in self.departments or department in self.departments


@dataclass(frozen=True, slots=True)
class Overflow:
    """After ``after`` seconds of waiting, a chat may also go to ``to``'s agents."""

    after: float
    to: str


Policy = Callable[[AgentSlot], tuple[Any, ...]]
"""Orders free agents: the one with the smallest key gets the next chat."""


def fewest_chats_then_longest_idle(agent: AgentSlot) -> tuple[int, float, int]:
    """The default order: fewest active chats, then idle longest, then lowest id."""
    return (agent.active, agent.idle_since, agent.agent_id)


_Key = tuple[int, int, float, int]


@dataclass(slots=True)
class _Entry:
    chat_id: str
    department: str
    key: _Key
    queued_at: float
    avoid: int | None = None
    prefer: int | None = None


_Free = tuple[tuple[Any, ...], int, int]  # (policy key, version, agent id)


@dataclass(slots=True)
class Router:
    """Department queues and agents' load, deciding assignments.

    Change agents only through the methods (``upsert_agent``, ``set_status``,
    ``take``, ``release``): they keep the free-agent heaps up to date.
    """

    overflow: Mapping[str, Overflow] = field(default_factory=dict)
    policy: Policy = fewest_chats_then_longest_idle
    agents: dict[int, AgentSlot] = field(default_factory=dict)
    _queues: dict[str, list[_Key]] = field(default_factory=dict)
    _by_key: dict[_Key, _Entry] = field(default_factory=dict)
    _by_chat: dict[str, _Entry] = field(default_factory=dict)
    _counter: int = 0
    # free agents: a heap per department served ("*" for everything); an entry is
    # current only while its version is the agent's (older ones are dropped lazily)
    _free: dict[str, list[_Free]] = field(default_factory=dict)
    _version: dict[int, int] = field(default_factory=dict)
    _free_ids: set[int] = field(default_factory=set)
    _heaped: int = 0
    _compact_at: int = 1024
    _capacity: dict[str | None, int] = field(default_factory=dict)

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
        prefer: int | None = None,
    ) -> None:
        """Queue a chat (front = it had an agent); never give it to ``avoid``; to ``prefer``
        (the agent who knows the request) whenever they are free."""
        if chat_id in self._by_chat:
            raise StateError(message=f"chat {chat_id} is already queued")
        self._counter += 1
        key = (-priority, 0 if front else 1, queued_at, self._counter)
        entry = _Entry(chat_id, department, key, queued_at, avoid, prefer)
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
        self,
        agent_id: int,
        max_chats: int,
        departments: Iterable[str] = (ALL_DEPARTMENTS,),
        *,
        bot: bool = False,
    ) -> AgentSlot:
        """Add or change an agent; a bot's departments are the bot queues of those given."""
        slot = self.agents.get(agent_id)
        if slot is None:
            slot = self.agents[agent_id] = AgentSlot(agent_id, max_chats)
        slot.max_chats = max_chats
        slot.bot = bot
        deps = frozenset(departments) or frozenset({ALL_DEPARTMENTS})
        slot.departments = frozenset(bot_queue(d) for d in deps) if bot else deps
        self._capacity.clear()
        self._changed(slot)
        return slot

    def set_status(self, agent_id: int, status: AgentStatus, now: float) -> None:
        slot = self.agents[agent_id]
        if status is AgentStatus.ONLINE and slot.status is not AgentStatus.ONLINE:
            slot.idle_since = now
        slot.status = status
        self._capacity.clear()
        self._changed(slot)

    def take(self, agent_id: int, now: float) -> None:
        """The agent got one more chat (an assignment, a transfer, or a restart)."""
        slot = self.agents[agent_id]
        slot.active += 1
        slot.idle_since = now
        self._changed(slot)

    def release(self, agent_id: int) -> None:
        """One of the agent's chats ended or left them."""
        slot = self.agents.get(agent_id)
        if slot is not None and slot.active > 0:
            slot.active -= 1
            self._changed(slot)

    def entry_queue(self, department: str, *, bot_first: bool) -> str:
        """Where a new chat of ``department`` waits: its bot queue when its topic is
        ``bot_first`` and a bot serving it is online, else the department's own queue."""
        if bot_first and self.capacity(bot_queue(department)) > 0:
            return bot_queue(department)
        return department

    def capacity(self, department: str | None = None) -> int:
        """Chat slots of online agents (serving the department, if one is given)."""
        cached = self._capacity.get(department)
        if cached is None:
            cached = self._capacity[department] = sum(
                a.max_chats
                for a in self.agents.values()
                if a.status is AgentStatus.ONLINE and (department is None or a.serves(department))
            )
        return cached

    def _changed(self, slot: AgentSlot) -> None:
        """Re-file the agent: older heap entries go stale, a free agent gets new ones."""
        version = self._version.get(slot.agent_id, 0) + 1
        self._version[slot.agent_id] = version
        if not slot.free:
            self._free_ids.discard(slot.agent_id)
            return
        self._free_ids.add(slot.agent_id)
        item = (self.policy(slot), version, slot.agent_id)
        for department in slot.departments:
            heapq.heappush(self._free.setdefault(department, []), item)
        self._heaped += len(slot.departments)
        if self._heaped > self._compact_at:
            self._compact()
            self._compact_at = max(1024, 2 * self._heaped)

    def _compact(self) -> None:
        """Drop stale heap entries (those of agents that changed since)."""
        for department, heap in self._free.items():
            self._free[department] = fresh = [e for e in heap if self._current(e)]
            heapq.heapify(fresh)
        self._heaped = sum(len(h) for h in self._free.values())

    def _current(self, item: _Free) -> bool:
        return self._version.get(item[2]) == item[1]

    def _top(self, department: str, avoid: int | None) -> _Free | None:
        """The best free agent serving ``department`` other than ``avoid``."""
        heap = self._free.get(department)
        if not heap:
            return None
        while heap and not self._current(heap[0]):
            heapq.heappop(heap)
            self._heaped -= 1
        if not heap or heap[0][2] != avoid:
            return heap[0] if heap else None
        held = heapq.heappop(heap)  # the avoided agent: look at the next one
        try:
            while heap and not self._current(heap[0]):
                heapq.heappop(heap)
                self._heaped -= 1
            return heap[0] if heap else None
        finally:
            heapq.heappush(heap, held)

    # -- decisions -------------------------------------------------------------------

    def _agent_for(self, entry: _Entry, now: float) -> int | None:
        """The free agent the policy gives this chat to, if any may take it."""
        known = self.agents.get(entry.prefer) if entry.prefer is not None else None
        if (
            known is not None
            and known.free
            and known.agent_id != entry.avoid
            and known.serves(entry.department)
        ):
            return known.agent_id
        if entry.department.startswith(BOT_PREFIX):
            pools = [entry.department, bot_queue(ALL_DEPARTMENTS)]
        else:
            pools = [entry.department, ALL_DEPARTMENTS]
        rule = self.overflow.get(entry.department)
        if rule is not None and now - entry.queued_at >= rule.after:
            pools.append(rule.to)
        best: _Free | None = None
        for pool in pools:
            top = self._top(pool, entry.avoid)
            if top is not None and (best is None or top < best):
                best = top
        return None if best is None else best[2]

    def assignments(self, now: float) -> list[tuple[str, int]]:
        """Pair queued chats with free agents, most urgent and longest waiting first."""
        out: list[tuple[str, int]] = []
        while self._free_ids and self._by_chat:
            best: tuple[_Entry, int] | None = None
            for keys in self._queues.values():
                for key in keys[:_SCAN]:
                    if best is not None and key >= best[0].key:
                        break  # nothing deeper in this queue beats what we have
                    entry = self._by_key[key]
                    agent_id = self._agent_for(entry, now)
                    if agent_id is not None:
                        best = (entry, agent_id)
                        break
            if best is None:
                return out
            entry, agent_id = best
            self.remove(entry.chat_id)
            self.take(agent_id, now)
            out.append((entry.chat_id, agent_id))
        return out


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
