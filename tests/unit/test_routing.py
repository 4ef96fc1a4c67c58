"""The queues and the choice of agent: table-driven, pure, time passed in."""

from __future__ import annotations

import pytest

from chatserver.core.routing import (
    AgentSlot,
    AgentStatus,
    Overflow,
    RollingAverage,
    Router,
    estimate_wait,
    fewest_chats_then_longest_idle,
)
from chatserver.exceptions import StateError

ON, AWAY, OFF = AgentStatus.ONLINE, AgentStatus.AWAY, AgentStatus.OFFLINE
Agent = tuple[int, int, AgentStatus, int, float, tuple[str, ...]]


def router(*agents: Agent, overflow: dict[str, Overflow] | None = None) -> Router:
    """Agents as (id, max_chats, status, active, idle_since, departments)."""
    r = Router(overflow=overflow or {})
    for agent_id, max_chats, status, active, idle, deps in agents:
        r.upsert_agent(agent_id, max_chats, deps)
        for _ in range(active):
            r.take(agent_id, idle)
        r.set_status(agent_id, status, idle)
    return r


def agent(agent_id: int, deps: tuple[str, ...] = ("*",), max_chats: int = 10) -> Agent:
    return (agent_id, max_chats, ON, 0, 0.0, deps)


def test_fifo_within_a_department() -> None:
    """Chats of one priority are taken in arrival order."""
    r = router(agent(1))
    for i, chat in enumerate(["a", "b", "c"]):
        r.enqueue(chat, "general", 100.0 + i)
    assert [c for c, _ in r.assignments(200.0)] == ["a", "b", "c"]
    assert len(r) == 0


@pytest.mark.parametrize(
    ("queued", "expected"),
    [
        # (chat, priority, front, queued_at) -> assignment order
        ([("old", 0, False, 1.0), ("urgent", 2, False, 5.0)], ["urgent", "old"]),
        (
            [("high", 1, False, 1.0), ("urgent", 2, False, 9.0), ("n", 0, False, 0.0)],
            ["urgent", "high", "n"],
        ),
        ([("new", 0, False, 1.0), ("back", 0, True, 5.0)], ["back", "new"]),
        ([("back", 0, True, 5.0), ("urgent", 2, False, 9.0)], ["urgent", "back"]),
    ],
)
def test_priority_then_front_then_arrival(
    queued: list[tuple[str, int, bool, float]], expected: list[str]
) -> None:
    """Urgent before high before normal; sent-back chats before new ones; then arrival."""
    r = router(agent(1))
    for chat, priority, front, at in queued:
        r.enqueue(chat, "general", at, priority=priority, front=front)
    assert [c for c, _ in r.assignments(100.0)] == expected


def test_departments_never_cross() -> None:
    """Finance agents take finance chats, technical agents technical ones, nothing else."""
    r = router(agent(1, ("finance",)), agent(2, ("technical",)))
    r.enqueue("f1", "finance", 1.0)
    r.enqueue("t1", "technical", 2.0)
    r.enqueue("p1", "privacy", 0.5)
    assert sorted(r.assignments(10.0)) == [("f1", 1), ("t1", 2)]
    assert r.position("p1") == 1 and r.department_of("p1") == "privacy"


def test_an_agent_of_several_departments_takes_the_most_urgent_first() -> None:
    """Across departments the key decides: priority, front, arrival."""
    r = router(agent(1, ("finance", "security"), max_chats=1))
    r.enqueue("f", "finance", 1.0)
    r.enqueue("s", "security", 5.0, priority=2)
    assert r.assignments(10.0) == [("s", 1)]


def test_capacity_is_never_exceeded() -> None:
    """An agent with max 2 takes two chats; the third waits at position 1."""
    r = router(agent(1, max_chats=2))
    for i, chat in enumerate(["a", "b", "c"]):
        r.enqueue(chat, "general", float(i))
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
    slots = [AgentSlot(i, m, frozenset({"*"}), s, a, idle) for i, m, s, a, idle in agents]
    chosen = min((a for a in slots if a.free), key=fewest_chats_then_longest_idle, default=None)
    assert (chosen.agent_id if chosen else None) == expected
    # the router's heaps make the same choice
    r = router(*((i, m, s, a, idle, ("*",)) for i, m, s, a, idle in agents))
    r.enqueue("c", "general", 1.0)
    assert r.assignments(100.0) == ([("c", expected)] if expected is not None else [])


def test_assignment_spreads_load_and_updates_idle() -> None:
    """Two free agents share a burst alternately; each assignment resets idle time."""
    r = router((1, 5, ON, 0, 10.0, ("*",)), (2, 5, ON, 0, 20.0, ("*",)))
    for i in range(4):
        r.enqueue(f"c{i}", "general", float(i))
    assert r.assignments(100.0) == [("c0", 1), ("c1", 2), ("c2", 1), ("c3", 2)]
    assert r.agents[1].idle_since == 100.0


@pytest.mark.parametrize(
    ("waited", "expected"),
    [
        (299.0, []),  # not yet: only finance agents may take it
        (300.0, [("f1", 9)]),  # now the fallback department's agent may
    ],
)
def test_overflow_to_the_fallback_department(
    waited: float, expected: list[tuple[str, int]]
) -> None:
    """A chat waiting past its department's threshold may go to the fallback department."""
    r = router(agent(9, ("general",)), overflow={"finance": Overflow(300.0, "general")})
    r.enqueue("f1", "finance", 0.0)
    assert r.assignments(waited) == expected


def test_positions_are_per_department() -> None:
    """Each department counts its own queue; removing a chat moves the ones behind it up."""
    r = Router()
    for i, chat in enumerate("abc"):
        r.enqueue(chat, "finance", float(i))
    r.enqueue("x", "technical", 0.5)
    assert [r.position(c) for c in "abcx"] == [1, 2, 3, 1]
    assert r.remove("a") is True and r.remove("a") is False
    assert (r.position("b"), r.position("c"), r.position("a")) == (1, 2, None)
    assert r.queue_length("finance") == 2 and "b" in r and "a" not in r
    assert list(r.queued("finance")) == ["b", "c"] and set(r.queued()) == {"b", "c", "x"}
    assert r.oldest_wait(10.0) == 9.5


def test_heaps_stay_right_through_many_changes() -> None:
    """Agents coming and going, taking and releasing chats thousands of times: every
    assignment still goes to the agent a full scan would choose."""
    import random

    rng = random.Random(7)
    deps = ("general", "finance", "*")
    r = Router()
    for i in range(1, 41):
        r.upsert_agent(i, rng.randint(1, 4), [rng.choice(deps)])
    now = 0.0
    for step in range(3000):
        now += 1.0
        agent_id = rng.randint(1, 40)
        roll = rng.random()
        if roll < 0.2:
            r.set_status(agent_id, rng.choice([ON, AWAY, OFF]), now)
        elif roll < 0.5:
            r.release(agent_id)
        else:
            dep = rng.choice(deps[:2])
            r.enqueue(f"c{step}", dep, now)
            expected_agent = min(
                (a for a in r.agents.values() if a.free and a.serves(dep)),
                key=fewest_chats_then_longest_idle,
                default=None,
            )
            got = r.assignments(now)
            if expected_agent is None:
                assert got == []
                r.remove(f"c{step}")
            else:
                assert got == [(f"c{step}", expected_agent.agent_id)]
    assert r._heaped < 4 * 1024  # stale entries are compacted away


def test_a_chat_sent_back_to_the_queue_avoids_its_last_agent() -> None:
    """The avoided agent gets the next chat in line instead; another agent gets the avoided one."""
    r = router(agent(1, max_chats=3))
    r.enqueue("back", "general", 1.0, front=True, avoid=1)
    r.enqueue("new", "general", 2.0)
    assert r.assignments(10.0) == [("new", 1)]
    assert r.position("back") == 1
    r.upsert_agent(2, 3)
    r.set_status(2, ON, 11.0)
    assert r.assignments(11.0) == [("back", 2)]


def test_avoid_is_forgotten_when_the_chat_leaves_the_queue() -> None:
    """A removed chat that comes back later has no avoided agent."""
    r = router(agent(1, max_chats=3))
    r.enqueue("c", "general", 1.0, avoid=1)
    assert r.assignments(2.0) == []
    r.remove("c")
    r.enqueue("c", "general", 3.0)
    assert r.assignments(4.0) == [("c", 1)]


def test_enqueue_twice_is_refused() -> None:
    """A chat is in a queue at most once."""
    r = Router()
    r.enqueue("a", "general", 1.0)
    with pytest.raises(StateError):
        r.enqueue("a", "finance", 2.0)


def test_status_and_capacity_per_department() -> None:
    """Capacity counts online agents' slots, per department when asked; '*' serves all."""
    r = router((1, 3, OFF, 0, 0.0, ("finance",)), (2, 2, ON, 1, 0.0, ("*",)))
    assert (r.capacity(), r.capacity("finance"), r.capacity("privacy")) == (2, 2, 2)
    r.set_status(1, ON, 77.0)
    assert r.agents[1].idle_since == 77.0 and r.capacity("finance") == 5
    assert r.capacity("privacy") == 2
    r.set_status(1, ON, 99.0)  # already online: unchanged
    assert r.agents[1].idle_since == 77.0
    r.take(2, 5.0)
    assert r.agents[2].active == 2
    for _ in range(3):
        r.release(2)  # never below zero
    assert r.agents[2].active == 0
    assert r.upsert_agent(3, 1, ()).departments == frozenset({"*"})


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
    """position x average handling time / serving slots, rounded up to stable steps."""
    assert estimate_wait(position, capacity, avg) == expected


def test_rolling_average() -> None:
    """The default until there are samples; then the mean of the last window."""
    avg = RollingAverage(window=3, default=300.0)
    assert avg.value == 300.0
    for v in (10.0, 20.0, 30.0, 40.0):
        avg.add(v)
    assert avg.value == 30.0
