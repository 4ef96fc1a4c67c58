"""The queue and the choice of agent: table-driven, pure, time passed in."""

from __future__ import annotations

import pytest

from chatserver.core.routing import (
    AgentSlot,
    AgentStatus,
    RollingAverage,
    Router,
    estimate_wait,
    fewest_chats_then_longest_idle,
)
from chatserver.exceptions import StateError

ON, AWAY, OFF = AgentStatus.ONLINE, AgentStatus.AWAY, AgentStatus.OFFLINE


def router(*agents: tuple[int, int, AgentStatus, int, float]) -> Router:
    """Agents as (id, max_chats, status, active, idle_since)."""
    r = Router()
    for agent_id, max_chats, status, active, idle in agents:
        slot = r.upsert_agent(agent_id, max_chats)
        slot.status, slot.active, slot.idle_since = status, active, idle
    return r


def test_fifo_order() -> None:
    """Chats are taken in arrival order."""
    r = router((1, 10, ON, 0, 0.0))
    for i, chat in enumerate(["a", "b", "c"]):
        r.enqueue(chat, 100.0 + i)
    assert [c for c, _ in r.assignments(200.0)] == ["a", "b", "c"]
    assert len(r) == 0


def test_capacity_is_never_exceeded() -> None:
    """An agent with max 2 takes two chats; the third waits at position 1."""
    r = router((1, 2, ON, 0, 0.0))
    for i, chat in enumerate(["a", "b", "c"]):
        r.enqueue(chat, float(i))
    assert r.assignments(10.0) == [("a", 1), ("b", 1)]
    assert r.position("c") == 1 and r.agents[1].active == 2
    assert r.assignments(11.0) == []
    r.release(1)
    assert r.assignments(12.0) == [("c", 1)]


@pytest.mark.parametrize(
    ("agents", "expected"),
    [
        # fewest active chats wins
        ([(1, 3, ON, 2, 0.0), (2, 3, ON, 1, 50.0)], 2),
        # same load: idle longest (smallest idle_since) wins
        ([(1, 3, ON, 1, 40.0), (2, 3, ON, 1, 30.0)], 2),
        # same load and idle time: lowest id
        ([(2, 3, ON, 0, 30.0), (1, 3, ON, 0, 30.0)], 1),
        # away, offline and full agents are skipped
        ([(1, 3, AWAY, 0, 0.0), (2, 3, OFF, 0, 0.0), (3, 1, ON, 1, 0.0), (4, 3, ON, 2, 99.0)], 4),
        # nobody free
        ([(1, 3, AWAY, 0, 0.0), (2, 1, ON, 1, 0.0)], None),
    ],
)
def test_choice_of_agent(
    agents: list[tuple[int, int, AgentStatus, int, float]], expected: int | None
) -> None:
    """Fewest active chats, then idle longest, then lowest id; only online agents below max."""
    slots = [AgentSlot(i, m, s, a, idle) for i, m, s, a, idle in agents]
    chosen = fewest_chats_then_longest_idle(slots)
    assert (chosen.agent_id if chosen else None) == expected


def test_assignment_spreads_load_and_updates_idle() -> None:
    """Two free agents share a burst alternately; each assignment resets idle time."""
    r = router((1, 5, ON, 0, 10.0), (2, 5, ON, 0, 20.0))
    for i in range(4):
        r.enqueue(f"c{i}", float(i))
    assert r.assignments(100.0) == [("c0", 1), ("c1", 2), ("c2", 1), ("c3", 2)]
    assert r.agents[1].idle_since == 100.0


def test_requeued_chats_go_to_the_front() -> None:
    """A chat that lost its agent is ahead of everyone who never had one, oldest first."""
    r = Router()
    r.enqueue("new1", 50.0)
    r.enqueue("new2", 60.0)
    r.enqueue("back_late", 40.0, front=True)
    r.enqueue("back_early", 10.0, front=True)
    assert list(r.queued()) == ["back_early", "back_late", "new1", "new2"]
    assert [r.position(c) for c in r.queued()] == [1, 2, 3, 4]


def test_positions_move_up_when_someone_leaves() -> None:
    """Removing a chat from the queue moves everyone behind it up by one."""
    r = Router()
    for i, chat in enumerate("abcd"):
        r.enqueue(chat, float(i))
    assert r.remove("b") is True and r.remove("b") is False
    assert (r.position("a"), r.position("c"), r.position("d"), r.position("b")) == (1, 2, 3, None)
    assert "c" in r and "b" not in r
    assert r.oldest_wait(10.0) == 10.0


def test_enqueue_twice_is_refused() -> None:
    """A chat is in the queue at most once."""
    r = Router()
    r.enqueue("a", 1.0)
    with pytest.raises(StateError):
        r.enqueue("a", 2.0)


def test_status_and_capacity() -> None:
    """Going online resets idle time; capacity counts online agents' slots."""
    r = router((1, 3, OFF, 0, 0.0), (2, 2, ON, 1, 0.0))
    assert r.capacity() == 2
    r.set_status(1, ON, 77.0)
    assert r.agents[1].idle_since == 77.0 and r.capacity() == 5
    r.set_status(1, ON, 99.0)  # already online: unchanged
    assert r.agents[1].idle_since == 77.0
    r.take(2, 5.0)
    assert r.agents[2].active == 2
    r.release(2)
    r.release(2)
    r.release(2)  # never below zero
    assert r.agents[2].active == 0


@pytest.mark.parametrize(
    ("position", "capacity", "avg", "expected"),
    [
        (1, 0, 300.0, None),  # nobody online: unknown
        (1, 10, 300.0, 30),  # 30 s
        (1, 3, 100.0, 45),  # 33.3 s -> 45 (15 s steps)
        (2, 1, 100.0, 210),  # 200 -> 210
        (10, 1, 300.0, 3000),  # 3000 s, whole minutes
        (7, 2, 100.0, 360),  # 350 -> 360
    ],
)
def test_estimate_wait(position: int, capacity: int, avg: float, expected: int | None) -> None:
    """position x average handling time / online slots, rounded up to stable steps."""
    assert estimate_wait(position, capacity, avg) == expected


def test_rolling_average() -> None:
    """The default until there are samples; then the mean of the last window."""
    avg = RollingAverage(window=3, default=300.0)
    assert avg.value == 300.0
    for v in (10.0, 20.0, 30.0, 40.0):
        avg.add(v)
    assert avg.value == 30.0


def test_a_chat_sent_back_to_the_queue_avoids_its_last_agent() -> None:
    """The avoided agent gets the next chat in line instead; another agent gets the avoided one."""
    r = router((1, 3, ON, 0, 0.0))
    r.enqueue("back", 1.0, front=True, avoid=1)
    r.enqueue("new", 2.0)
    assert r.assignments(10.0) == [("new", 1)]
    assert r.position("back") == 1
    r.upsert_agent(2, 3).status = ON
    assert r.assignments(11.0) == [("back", 2)]


def test_avoid_is_forgotten_when_the_chat_leaves_the_queue() -> None:
    """A removed chat that comes back later has no avoided agent."""
    r = router((1, 3, ON, 0, 0.0))
    r.enqueue("c", 1.0, avoid=1)
    assert r.assignments(2.0) == []
    r.remove("c")
    r.enqueue("c", 3.0)
    assert r.assignments(4.0) == [("c", 1)]
