"""Bots in routing: they take only their bot queues, people never take from those."""

from __future__ import annotations

from chatserver.core.routing import AgentStatus, Router, bot_queue


def router_with(bot_departments: tuple[str, ...] = ("*",)) -> Router:
    r = Router()
    r.upsert_agent(1, 5, bot_departments, bot=True)
    r.upsert_agent(2, 5, ("*",))
    r.set_status(1, AgentStatus.ONLINE, 0.0)
    r.set_status(2, AgentStatus.ONLINE, 0.0)
    return r


def test_a_bot_queue_goes_to_the_bot_and_a_department_queue_to_people() -> None:
    r = router_with()
    r.enqueue("b", bot_queue("finance"), 1.0)
    r.enqueue("p", "finance", 2.0)
    assert sorted(r.assignments(3.0)) == [("b", 1), ("p", 2)]


def test_people_never_take_from_a_bot_queue() -> None:
    r = router_with()
    r.set_status(1, AgentStatus.AWAY, 1.0)
    r.enqueue("b", bot_queue("finance"), 1.0)
    assert r.assignments(2.0) == []
    r.set_status(1, AgentStatus.ONLINE, 3.0)
    assert r.assignments(4.0) == [("b", 1)]


def test_bots_serve_only_their_departments_and_count_apart() -> None:
    """A bot of one department takes only that bot queue; capacities stay apart."""
    r = router_with(("bonus",))
    assert r.capacity(bot_queue("bonus")) == 5
    assert r.capacity(bot_queue("finance")) == 0
    assert r.capacity("bonus") == 5  # the person; the bot does not serve people's queues
    r.enqueue("f", bot_queue("finance"), 1.0)
    assert r.assignments(2.0) == []
