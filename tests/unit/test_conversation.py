"""The chat state machine and message log, without an event loop."""

from __future__ import annotations

import gc

import pytest

from chatserver.core.conversation import (
    Appended,
    ChatState,
    Conversation,
    Duplicate,
    FileInfo,
    Player,
    Sender,
    clean_text,
    session_state,
)
from chatserver.exceptions import LimitError, StateError

PLAYER = Player("Mehmet", "mehmet42", "m@example.com", "payments")


def chat() -> Conversation:
    return Conversation(id="c1", session_id="s1", player=PLAYER, created_at=100.0)


def accept(c: Conversation, sender: Sender, cid: str, **kw: object) -> int:
    result = c.append(sender, cid, "text", 1000, **kw)  # type: ignore[arg-type]
    assert isinstance(result, Appended)
    c.committed(result.message)
    return result.message.seq


def test_lifecycle_queued_active_queued_active_ended() -> None:
    """The legal path through every state, with the fields each step sets."""
    c = chat()
    assert c.state is ChatState.QUEUED and c.queued_at == 100.0
    c.assign(7, "Ayşe", 110.0)
    assert (c.state, c.agent_id, c.agent_name, c.assigned_at) == (
        ChatState.ACTIVE,
        7,
        "Ayşe",
        110.0,
    )
    assert c.requeue() == 7
    assert (c.state, c.agent_id, c.requeued, c.queued_at) == (ChatState.QUEUED, None, True, 100.0)
    c.assign(8, "Ali", 120.0)
    c.end("agent", 130.0)
    assert (c.state, c.ended_by, c.ended_at) == (ChatState.ENDED, "agent", 130.0)


@pytest.mark.parametrize(
    ("setup", "illegal"),
    [
        ([], lambda c: c.requeue()),
        ([lambda c: c.assign(1, "A", 1.0)], lambda c: c.assign(2, "B", 2.0)),
        ([lambda c: c.end("player", 1.0)], lambda c: c.end("player", 2.0)),
        ([lambda c: c.end("player", 1.0)], lambda c: c.assign(1, "A", 2.0)),
        ([lambda c: c.end("player", 1.0)], lambda c: c.requeue()),
    ],
)
def test_illegal_transitions_raise(setup: list, illegal) -> None:  # type: ignore[no-untyped-def,type-arg]
    """Transitions the state machine does not allow raise StateError and change nothing."""
    c = chat()
    for step in setup:
        step(c)
    before = c.state
    with pytest.raises(StateError) as info:
        illegal(c)
    assert info.value.code == "wrong_state"
    assert c.state is before


def test_seq_has_no_gaps_and_resend_is_idempotent() -> None:
    """Seqs are 1, 2, 3; a resend of a pending id, then of a committed id, returns its seq."""
    c = chat()
    first = c.append(Sender.PLAYER, "m1", "hi", 1000)
    assert isinstance(first, Appended) and first.message.seq == 1
    assert c.append(Sender.PLAYER, "m1", "hi", 1001) == Duplicate(seq=1, committed=False)
    c.committed(first.message)
    assert c.append(Sender.PLAYER, "m1", "hi", 1002) == Duplicate(seq=1, committed=True)
    assert accept(c, Sender.PLAYER, "m2") == 2
    assert [m.seq for m in c.messages] == [1, 2]
    assert [m.seq for m in c.after(1)] == [2]
    assert c.after(0) == c.messages


def test_ids_are_scoped_per_author() -> None:
    """The same client id from the player and from an agent are two messages."""
    c = chat()
    c.assign(7, "Ayşe", 1.0)
    assert accept(c, Sender.PLAYER, "x") == 1
    assert accept(c, Sender.AGENT, "x", agent_id=7) == 2


def test_a_kept_message_adds_nothing_for_the_garbage_collector_to_walk() -> None:
    """A live chat keeps every message and its idempotency key: none of them may be an
    object the collector tracks, or each young collection walks them all (a pause of
    tens of milliseconds per 50,000 in the server)."""
    c = chat()
    c.assign(7, "Ayşe", 1.0)
    before = len(gc.get_objects())
    file = FileInfo("f1", "a.png", "image/png", 10, "00" * 32, 1, 1, True)
    for i in range(200):
        result = c.append(Sender.PLAYER, f"m{i}", "text", 1000, file=file if i % 2 else None)
        assert isinstance(result, Appended)
        c.committed(result.message)
    assert not gc.is_tracked(c.messages[0]) and not gc.is_tracked(c.messages[1].file)
    assert len(gc.get_objects()) - before < 10  # (the list and dict growing, not per message)


def test_commit_out_of_order_is_refused() -> None:
    """Committing seq 2 before seq 1 would open a gap."""
    c = chat()
    a = c.append(Sender.PLAYER, "a", "1", 1)
    b = c.append(Sender.PLAYER, "b", "2", 2)
    assert isinstance(a, Appended) and isinstance(b, Appended)
    with pytest.raises(StateError) as info:
        c.committed(b.message)
    assert info.value.code == "seq_gap"


def test_messages_refused_after_end_and_from_other_agents() -> None:
    """An ended chat takes nothing; an agent can only write in their own active chat."""
    c = chat()
    with pytest.raises(StateError) as info:
        c.append(Sender.AGENT, "a", "hi", 1, agent_id=7)
    assert info.value.code == "not_your_chat"
    c.assign(7, "Ayşe", 1.0)
    with pytest.raises(StateError):
        c.append(Sender.AGENT, "a", "hi", 1, agent_id=8)
    c.end("player", 2.0)
    with pytest.raises(StateError) as info:
        c.append(Sender.PLAYER, "p", "hi", 3)
    assert info.value.code == "wrong_state"


def test_message_limit_spares_system_messages() -> None:
    """Past max_messages players and agents are refused; system notes still go in."""
    c = chat()
    accept(c, Sender.PLAYER, "1", max_messages=2)
    accept(c, Sender.PLAYER, "2", max_messages=2)
    with pytest.raises(LimitError) as info:
        c.append(Sender.PLAYER, "3", "x", 1, max_messages=2)
    assert info.value.code == "chat_limit_reached"
    assert accept(c, Sender.SYSTEM, "s", max_messages=2) == 3


def test_first_response_time_is_the_first_agent_message() -> None:
    """first_response_at is set once, by the first agent message."""
    c = chat()
    c.assign(7, "Ayşe", 1.0)
    c.append(Sender.AGENT, "a", "hi", 5_000, agent_id=7)
    c.append(Sender.AGENT, "b", "hi", 9_000, agent_id=7)
    assert c.first_response_at == 5.0


def test_restore_rebuilds_seq_and_idempotency() -> None:
    """After a restart the log, the next seq and known ids come back."""
    c = chat()
    accept(c, Sender.PLAYER, "m1")
    accept(c, Sender.SYSTEM, "s1")
    again = chat()
    again.restore(list(c.messages))
    assert again.last_seq == again.committed_seq == 2
    assert again.append(Sender.PLAYER, "m1", "x", 1) == Duplicate(1, True)
    nxt = again.append(Sender.PLAYER, "m2", "x", 1)
    assert isinstance(nxt, Appended) and nxt.message.seq == 3


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain", "plain"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("nul\x00bell\x07esc\x1bdel\x7f", "nulbellescdel"),
        ("emoji 🎲 and ğüşiöç", "emoji 🎲 and ğüşiöç"),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    """Control characters go, line breaks become LF, everything else stays."""
    assert clean_text(raw) == clean


def test_session_state() -> None:
    """A session without a chat is in prechat; otherwise it reports the chat's state."""
    assert session_state(None) == "prechat"
    assert session_state(chat()) == "queued"


def test_notes_are_idempotent_and_placed_after_the_last_message() -> None:
    """A note remembers the seq it follows; a resend of its id is recognised."""
    c = chat()
    c.assign(7, "Ayşe", 1.0)
    accept(c, Sender.PLAYER, "m1")
    note = c.add_note(7, "Ayşe", "n1", "VIP player", 5_000)
    assert note is not None and note.after_seq == 1 and c.last_seq == 1  # no seq taken
    assert c.add_note(7, "Ayşe", "n1", "VIP player", 6_000) is None
    assert c.add_note(8, "Ali", "n1", "other agent, same id", 6_000) is not None
    c.note_committed(note)
    again = chat()
    again.restore(list(c.messages), [note])
    assert again.notes == [note] and again.add_note(7, "Ayşe", "n1", "x", 1) is None
    c.end("agent", 2.0)
    with pytest.raises(StateError):
        c.add_note(7, "Ayşe", "n2", "too late", 7_000)
