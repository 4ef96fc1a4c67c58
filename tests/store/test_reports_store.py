"""Report rollups in the store, on SQLite and PostgreSQL alike: a small known history gives
exactly the figures it should, each item counted once however often the rollup runs."""

from __future__ import annotations

from chatserver.core.conversation import Message, Sender
from chatserver.store import (
    CreateChat,
    CreateRequest,
    CreateSession,
    RateRequest,
    RecordRefusal,
    SaveChat,
    Store,
)
from tests.store.test_store import T0, agent_id, conv, number

H = 3600.0
TOPICS = {"technical": "technical", "payments": "finance"}


async def ended_chat(
    store: Store,
    chat: str,
    *,
    agent: int | None,
    wait: float = 0,
    first_response: float | None = None,
    handle: float = 0,
    at: float = T0,
    resolution: str | None = None,
    offline: bool = False,
) -> str:
    """A chat created at ``at``, taken after ``wait`` s, ended ``handle`` s later."""
    c = conv(chat, f"s-{chat}")
    c.created_at = c.queued_at = at
    session = CreateSession(f"s-{chat}", f"h-{chat}".encode(), at, "tr")
    await store.apply([session, CreateChat.of(c)])
    if agent is not None:
        c.assign(agent, "Ayşe", at + wait)
        if first_response is not None:
            c.first_response_at = at + wait + first_response
    c.end("agent" if agent else "player", at + wait + handle)
    ops: list = [SaveChat.of(c)]
    if offline:
        text = "Message left while no agent was online."
        ops.append(_system(chat, text, at, "offline_message"))
    rec = number()
    ops.append(CreateRequest(chat, at + wait + handle, lambda: rec, resolution))
    await store.apply(ops)
    return rec


def _system(chat: str, text: str, at: float, event: str):  # type: ignore[no-untyped-def]
    from chatserver.store import AppendMessage

    return AppendMessage(
        Message(chat, 1, f"sys-{chat}", Sender.SYSTEM, text, int(at * 1000), event=event)
    )


async def test_rollups_give_exact_figures_once(store: Store) -> None:
    a = await agent_id(store)
    # hour 0: two answered chats (waits 10 s and 100 s), one abandoned, one left offline
    n1 = await ended_chat(
        store, "c1", agent=a, wait=10, first_response=5, handle=300, resolution="resolved"
    )
    await ended_chat(store, "c2", agent=a, wait=100, first_response=15, handle=100)
    await ended_chat(store, "c3", agent=None, wait=0, handle=40)
    await ended_chat(store, "c4", agent=None, offline=True)
    # two hours later: one more, answered in 20 s
    await ended_chat(store, "c5", agent=a, wait=20, handle=60, at=T0 + 2 * H)
    await store.apply(
        [RecordRefusal(T0 + 60, "under_age", None, "kid", None, "technical", None)] * 1
    )
    await store.apply([RateRequest(n1, True, 5, None, T0 + 400, nps=10)])

    assert await store.roll_up(T0 + 10 * H, TOPICS, limit=2) == 2 + 1 + 1  # one batch each
    while await store.roll_up(T0 + 10 * H, TOPICS, limit=2):
        pass
    assert await store.roll_up(T0 + 10 * H, TOPICS) == 0  # nothing is counted twice

    # a later answer replaces the first one in the rollups too
    await store.apply([RateRequest(n1, False, 2, None, T0 + 500, nps=6)])
    assert await store.roll_up(T0 + 10 * H, TOPICS) == 1

    hours, agents, refusals = await store.report_rows(T0 - H, T0 + 10 * H, {})
    by_hour = {int(r["hour"]): dict(r) for r in hours}
    first = by_hour[int(T0 // H * H)]
    assert (first["chats"], first["answered"], first["abandoned"], first["offline"]) == (4, 2, 1, 1)
    assert (first["wait_sum"], first["w0"], first["w3"]) == (110, 1, 1)  # <15 s and 60-120 s
    assert (first["frt_sum"], first["frt_n"], first["handle_sum"]) == (20, 2, 400)
    assert (first["resolved"], first["rated"], first["rating_sum"]) == (1, 1, 2)
    assert (first["satisfied"], first["said_resolved"]) == (0, 0)
    assert (first["nps_n"], first["promoters"], first["detractors"]) == (1, 0, 1)
    assert by_hour[int((T0 + 2 * H) // H * H)]["answered"] == 1
    assert {(r["agent_id"], r["answered"]) for r in agents} == {(a, 3), (0, 0)}
    assert [(r["reason"], r["refused"]) for r in refusals] == [("under_age", 1)]

    only, _, _ = await store.report_rows(T0 - H, T0 + 10 * H, {"topic": "payments"})
    assert only == []
