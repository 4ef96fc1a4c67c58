"""Report rollups in the store, on SQLite and PostgreSQL alike: a small known history gives
exactly the figures it should, each item counted once however often the rollup runs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from chatserver.core.conversation import Message, Sender
from chatserver.reports.figures import HOUR_COLUMNS
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
TZ = "Europe/Istanbul"
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

    # n1 (created when its chat ended, T0 + 310) resolved at T0 + 1000, reopened, resolved
    for status, at in (("resolved", 1000), ("open", 1100), ("resolved", 1200)):
        await store.change_request_status(n1, status, actor="ayse", note=None, now=T0 + at)
    assert await store.roll_up(T0 + 10 * H, TOPICS, TZ, limit=2) == 2 + 1 + 1 + 1  # a batch each
    while await store.roll_up(T0 + 10 * H, TOPICS, TZ, limit=2):
        pass
    assert await store.roll_up(T0 + 10 * H, TOPICS, TZ) == 0  # nothing is counted twice

    # a later answer replaces the first one in the rollups too
    await store.apply([RateRequest(n1, False, 2, None, T0 + 500, nps=6)])
    assert await store.roll_up(T0 + 10 * H, TOPICS, TZ) == 1

    day = datetime.fromtimestamp(T0, ZoneInfo(TZ)).date().isoformat()
    later = datetime.fromtimestamp(T0 + 2 * H, ZoneInfo(TZ))
    rows = await store.report_rows(day, later.date().isoformat(), {})
    t = {c: sum(r[c] for r in rows.days) for c in HOUR_COLUMNS}
    assert (t["chats"], t["answered"], t["abandoned"], t["offline"]) == (5, 3, 1, 1)
    assert (t["wait_sum"], t["w0"], t["w3"], t["w1"]) == (130, 1, 1, 1)  # <15, 60-120, 15-30 s
    assert (t["frt_sum"], t["frt_n"], t["handle_sum"]) == (20, 2, 460)
    assert (t["resolved"], t["rated"], t["rating_sum"]) == (1, 1, 2)
    assert (t["satisfied"], t["said_resolved"]) == (0, 0)
    assert (t["nps_n"], t["promoters"], t["detractors"]) == (1, 0, 1)
    assert (t["res_sum"], t["res_n"]) == (690, 1)  # the first resolution only
    assert sum(r["chats"] for r in rows.days) == 5
    hods = {r["hod"]: r["chats"] for r in rows.hours_of_day}
    local = datetime.fromtimestamp(T0, ZoneInfo(TZ)).hour
    assert hods[local] == 4 and hods[later.hour] == 1
    assert {(r["agent_id"], r["answered"]) for r in rows.agents} == {(a, 3)}
    assert [(r["reason"], r["refused"]) for r in rows.refusals] == [("under_age", 1)]

    only = await store.report_rows(day, day, {"topic": "payments"})
    assert only.days == []
    mine = await store.report_rows(day, later.date().isoformat(), {"agent_id": a})
    assert sum(r["answered"] for r in mine.days) == 3 and mine.hours_of_day == []
