"""The Store contract, on every backend: what one stores, the other stores the same way."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from chatserver.core.conversation import (
    ChatState,
    Conversation,
    FileInfo,
    Message,
    Note,
    Player,
    Sender,
)
from chatserver.core.identity import Member
from chatserver.exceptions import ClientError, ConflictError, NotFoundError, StoreError
from chatserver.store import (
    AddAttachment,
    AppendMessage,
    AppendNote,
    AttachmentRecord,
    CreateChat,
    CreateRequest,
    CreateSession,
    EnqueueWebhooks,
    RateRequest,
    RecordRefusal,
    SaveChat,
    Store,
)

T0 = 1_790_000_000.0
_numbers = itertools.count(1)


def number() -> str:
    return f"TEST{next(_numbers):05d}"


def conv(chat: str = "c1", session: str = "s1", email: str = "Ali@Example.com") -> Conversation:
    return Conversation(
        chat,
        session,
        Player("Ali Veli", "ali42", email, "technical", "tr"),
        created_at=T0,
        department="technical",
        priority=1,
        queued_at=T0,
    )


def msg(
    chat: str, seq: int, sender: Sender = Sender.PLAYER, agent_id: int | None = None
) -> Message:
    return Message(
        chat,
        seq,
        f"m{seq}",
        sender,
        f"text {seq} — ünïcode",
        int(T0 * 1000) + seq,
        agent_id=agent_id,
        author_name="Ayşe" if agent_id else None,
    )


async def new_chat(store: Store, chat: str = "c1", session: str = "s1", **kw: str) -> Conversation:
    c = conv(chat, session, **kw)
    await store.apply([CreateSession(session, f"h-{session}".encode(), T0, "tr"), CreateChat.of(c)])
    return c


async def agent_id(store: Store, username: str = "ayse", **kw: object) -> int:
    rec = await store.add_agent(
        username=username,
        name=str(kw.get("name", "Ayşe")),
        password_hash="x",
        role=str(kw.get("role", "agent")),
        departments=list(kw.get("departments", ["technical", "finance"])),  # type: ignore[call-overload]
        max_chats=int(kw.get("max_chats", 3)),  # type: ignore[call-overload]
        now=T0,
    )
    return rec.id


async def test_migrations_are_applied_once(store: Store) -> None:
    """A second migrate finds nothing to do."""
    assert await store.migrate() == []
    await store.ping()


async def test_messages_are_stored_in_order_and_restored_with_their_chat(store: Store) -> None:
    """A batch of messages, a live chat read back with its messages and notes."""
    aid = await agent_id(store)
    c = await new_chat(store)
    c.state, c.agent_id, c.assigned_at = ChatState.ACTIVE, aid, T0 + 5
    ops: list[object] = [SaveChat.of(c)]
    ops += [AppendMessage(msg("c1", i)) for i in range(1, 4)]
    ops += [AppendMessage(msg("c1", 4, Sender.AGENT, aid))]
    ops += [AppendNote(Note("c1", "n1", aid, "Ayşe", "VIP, be nice", 4, int(T0 * 1000)))]
    await store.apply(ops)  # type: ignore[arg-type]
    stored = await store.messages("c1")
    assert [m.seq for m in stored] == [1, 2, 3, 4]
    assert stored[0].text == "text 1 — ünïcode" and stored[0].sender is Sender.PLAYER
    assert stored[3].agent_id == aid and stored[3].author_name == "Ayşe"
    assert [m.seq for m in await store.messages("c1", after_seq=2)] == [3, 4]
    [(live, session)] = await store.live_chats()
    assert live.id == "c1" and live.state is ChatState.ACTIVE and live.agent_id == aid
    assert live.agent_name == "Ayşe" and live.department == "technical" and live.priority == 1
    assert live.committed_seq == 4 and live.player.username == "ali42"
    assert [n.text for n in live.notes] == ["VIP, be nice"]
    assert session.id == "s1" and session.token_hash == b"h-s1" and session.locale == "tr"
    latest = await store.latest_chat("s1")
    assert latest is not None and latest.last_seq == 4 and latest.agent_name == "Ayşe"
    found = await store.session_by_token(b"h-s1")
    assert found is not None and found.id == "s1"
    assert await store.session_by_token(b"nope") is None


async def test_a_failing_batch_stores_nothing(store: Store) -> None:
    """A seq stored twice fails the whole batch, before and after the bad row."""
    await new_chat(store)
    await store.apply([AppendMessage(msg("c1", 2))])
    with pytest.raises(StoreError):
        await store.apply([AppendMessage(msg("c1", 1)), AppendMessage(msg("c1", 2))])
    assert [m.seq for m in await store.messages("c1")] == [2]
    big = [AppendMessage(msg("c1", i)) for i in range(3, 500)]
    await store.apply(big)
    assert len(await store.messages("c1")) == 498


async def test_an_ended_chat_gets_a_request_with_its_history(store: Store) -> None:
    """Request number, events, rating, resolution, and a look-up by contact."""
    aid = await agent_id(store)
    c = await new_chat(store)
    taken = number()
    numbers = iter([taken, taken, number()])  # the first is taken: the store draws again
    await new_chat(store, "c0", "s0")
    await store.apply([CreateRequest("c0", T0, lambda: taken)])
    c.state, c.agent_id, c.ended_at, c.ended_by = ChatState.ENDED, aid, T0 + 60, "agent"
    req = CreateRequest("c1", T0 + 60, lambda: next(numbers), "resolved", "refund sent")
    await store.apply([AppendMessage(msg("c1", 1)), SaveChat.of(c), req])
    assert req.number and req.number != taken
    await store.apply([RateRequest(req.number, True, 5, "çok iyi", T0 + 70)])
    rec = await store.request(req.number)
    assert rec is not None and rec.status == "open" and rec.resolution == "resolved"
    assert rec.resolved is True and rec.rating == 5 and rec.rating_comment == "çok iyi"
    assert rec.chat.request_number == req.number and rec.chat.state == "ended"
    assert [m.seq for m in rec.messages] == [1]
    assert [(e.from_status, e.to_status) for e in rec.events] == [(None, "open")]
    assert await store.lookup_request(req.number, "ali@EXAMPLE.com") is not None
    assert await store.lookup_request(req.number, "someone@else") is None
    assert [chat.id for chat, _ in await store.live_chats()] == ["c0"]  # c1 ended


async def test_request_status_changes_are_recorded_with_their_webhooks(store: Store) -> None:
    """A status change, its event and its webhook delivery commit together."""
    await new_chat(store)
    req = CreateRequest("c1", T0, number)
    await store.apply([req])
    hook = EnqueueWebhooks(
        "request.updated", ("http://a/hook", "http://b/hook"), lambda: {"n": req.number}, T0
    )
    rec = await store.change_request_status(
        req.number, "resolved", actor="agent:1", note="done", now=T0 + 10, webhooks=hook
    )
    assert rec.status == "resolved" and rec.events[-1].note == "done"
    with pytest.raises(ClientError) as wrong:
        await store.change_request_status(req.number, "nonsense", actor="x", note=None, now=T0)
    assert wrong.value.code == "invalid_status"
    assert (await store.request(req.number)).events[-1].to_status == "resolved"  # type: ignore[union-attr]
    with pytest.raises(NotFoundError):
        await store.change_request_status("NOPE", "resolved", actor="x", note=None, now=T0)
    due = await store.due_deliveries(T0 + 11, 10)
    assert sorted(d.url for d in due) == ["http://a/hook", "http://b/hook"]
    assert '"request.updated"' in due[0].body and req.number in due[0].body
    assert await store.next_delivery_at() == T0
    await store.delivery_result(due[0].id, now=T0 + 12, error=None, retry_at=None)
    await store.delivery_result(due[1].id, now=T0 + 12, error="HTTP 500", retry_at=None)
    assert await store.due_deliveries(T0 + 100, 10) == []
    assert await store.next_delivery_at() is None
    states = {d.id: (d.status, d.attempts) for d in await store.deliveries(10)}
    assert states == {due[0].id: ("delivered", 1), due[1].id: ("failed", 1)}
    assert await store.redeliver(due[1].id, T0 + 200) is True
    assert await store.redeliver("missing", T0) is False
    assert [d.id for d in await store.due_deliveries(T0 + 200, 10)] == [due[1].id]


async def test_agents_tokens_and_their_rules(store: Store) -> None:
    """Usernames are unique ignoring case; tokens find active agents only."""
    aid = await agent_id(store, "Ayse", departments=["technical", "finance", "technical"])
    with pytest.raises(ConflictError):
        await agent_id(store, "ayse")
    rec = await store.agent_by_username("AYSE")
    assert rec is not None and rec.id == aid and rec.departments == ("finance", "technical")
    await store.add_token(aid, b"token-hash", "bot", T0)
    by_token = await store.agent_by_token(b"token-hash")
    assert by_token is not None and by_token.username == "Ayse"
    changed = await store.update_agent(
        aid, name="Ayşe K.", role="supervisor", departments=["*"], max_chats=5, disabled=True
    )
    assert (changed.name, changed.role, changed.departments, changed.max_chats) == (
        "Ayşe K.",
        "supervisor",
        ("*",),
        5,
    )
    assert changed.disabled and await store.agent_by_token(b"token-hash") is None
    assert changed.locale is None  # the console follows the browser until they choose
    chose = await store.update_agent(aid, locale="tr")
    assert chose.locale == "tr" and chose.name == "Ayşe K."  # (nothing else changed)
    with pytest.raises(NotFoundError):
        await store.update_agent(9999, name="x")
    await agent_id(store, "zeynep")
    assert [a.username for a in await store.list_agents()] == ["Ayse", "zeynep"]
    assert await store.agent(12345) is None


async def test_console_sessions(store: Store) -> None:
    """A session is found until it expires or ends; expired ones go."""
    aid = await agent_id(store)
    common = {"now": T0, "ip": "10.0.0.1", "user_agent": "test"}
    await store.add_console_session(b"s-1", aid, "csrf1", expires_at=T0 + 100, **common)  # type: ignore[arg-type]
    await store.add_console_session(b"s-2", aid, "csrf2", expires_at=T0 + 100, **common)  # type: ignore[arg-type]
    found = await store.console_session(b"s-1", T0 + 50)
    assert found is not None and found.csrf == "csrf1" and found.agent.id == aid
    assert await store.console_session(b"s-1", T0 + 101) is None
    await store.end_console_sessions(token_hash=b"s-1")
    assert await store.console_session(b"s-1", T0) is None
    await store.end_console_sessions(agent_id=aid)
    assert await store.console_session(b"s-2", T0) is None


async def test_canned_responses(store: Store) -> None:
    """Shortcuts are unique ignoring case; update and delete."""
    first = await store.save_canned(None, "hello", "Greeting", "Merhaba!", T0)
    with pytest.raises(ConflictError):
        await store.save_canned(None, "HELLO", "Again", "x", T0)
    await store.save_canned(first.id, "hi", "Greeting", "Merhaba 👋", T0 + 1)
    assert [(c.shortcut, c.text) for c in await store.canned_responses()] == [("hi", "Merhaba 👋")]
    with pytest.raises(NotFoundError):
        await store.save_canned(9999, "x", "x", "x", T0)
    await store.delete_canned(first.id)
    assert await store.canned_responses() == []


async def test_request_search(store: Store) -> None:
    """By number, by username or e-mail ignoring case, by loose text, newest first."""
    made = []
    for i, email in enumerate(["ali@example.com", "veli@example.com"]):
        c = await new_chat(store, f"c{i}", f"s{i}", email=email)
        req = CreateRequest(c.id, T0 + i, number)
        await store.apply([req])
        made.append(req.number)
    assert [r.number for r in await store.search_requests()] == made[::-1]
    assert [r.number for r in await store.search_requests(number=made[0])] == [made[0]]
    assert len(await store.search_requests(username="ALI42")) == 2
    assert [r.email for r in await store.search_requests(email="VELI@example.com")] == [
        "veli@example.com"
    ]
    assert len(await store.search_requests(text="VeLi")) == 2  # "Ali Veli" is both names
    assert len(await store.search_requests(text="veli@")) == 1
    assert await store.search_requests(text="100%_") == []  # wildcards are literal
    assert [r.number for r in await store.search_requests(since=T0 + 1)] == [made[1]]
    assert [r.number for r in await store.search_requests(before=T0 + 1)] == [made[0]]
    assert len(await store.search_requests(limit=1)) == 1


async def test_members_files_refusals_and_figures(store: Store) -> None:
    """Member import and look-up, attachments with their session, floor figures."""
    assert (
        await store.upsert_members(
            [Member("m1", "Mehmet", "m@example.com", "Mehmet", date(1990, 1, 2))]
        )
        == 1
    )
    await store.upsert_members([Member("m1", "Mehmet", "new@example.com", "Mehmet", None)])
    found = await store.member_by_username("mehmet")
    assert found is not None and found.email == "new@example.com" and found.birthdate is None
    with pytest.raises(ConflictError):
        await store.upsert_members([Member("m2", "MEHMET", "x@example.com", None, None)])
    aid = await agent_id(store)
    c = await new_chat(store)
    att = AttachmentRecord(
        "f1",
        "c1",
        "receipt.png",
        "image/png",
        1234,
        "ab" * 32,
        "k/f1",
        "k/f1t",
        640,
        480,
        "player",
        T0,
    )
    file_msg = Message(
        "c1",
        1,
        "m1",
        Sender.PLAYER,
        "",
        int(T0 * 1000),
        file=FileInfo("f1", "receipt.png", "image/png", 1234, "ab" * 32, 640, 480, True),
    )
    await store.apply([AddAttachment(att), AppendMessage(file_msg)])
    got = await store.attachment("f1")
    assert got is not None and got.session_id == "s1" and got.size == 1234
    [stored] = await store.messages("c1")
    assert stored.file is not None and stored.file.thumbnail and stored.file.width == 640
    await store.apply([RecordRefusal(T0, "under_age", "m9", "kid", "k@x", "technical", "s1")])
    c.state, c.agent_id = ChatState.ENDED, aid
    c.assigned_at, c.first_response_at, c.ended_at = T0 + 10, T0 + 20, T0 + 70
    req = CreateRequest("c1", T0 + 70, number)
    await store.apply([SaveChat.of(c), req])
    await store.apply([RateRequest(req.number, False, 2, None, T0 + 80)])
    stats = await store.floor_stats(T0)
    assert stats.ended == 1 and stats.ratings == 1 and stats.avg_rating == 2.0
    assert stats.avg_first_response == 10.0 and stats.avg_handle == 60.0
    assert (await store.floor_stats(T0 + 1000)).ended == 0


async def test_one_server_per_database(store: Store) -> None:
    """A second server waits for the first to let go of the database, then gives up."""
    from chatserver.store.postgres import PostgresStore
    from chatserver.store.sqlite import SqliteStore

    other: Store = (
        SqliteStore(store.path) if isinstance(store, SqliteStore) else PostgresStore(store.dsn)
    )
    assert await store.claim(0) and await store.claim_held()
    await other.open()
    try:
        assert not await other.claim(0.2) and not await other.claim_held()
        await store.close()  # the first server stops (a killed one lets go the same way)
        assert await other.claim(5) and await other.claim_held()
    finally:
        await other.close()
