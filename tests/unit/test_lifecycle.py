"""The request lifecycle's state machine (core/lifecycle.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatserver.core.lifecycle import Event, Status, parse_status, step
from chatserver.exceptions import ClientError, StateError

S, E = Status, Event


def run(events: list[Event], *, confirm_close: bool, start: Status = S.OPEN) -> list[Status]:
    seen, now = [], start
    for e in events:
        now = step(now, e, confirm_close=confirm_close).to
        seen.append(now)
    return seen


def test_a_complaints_whole_life() -> None:
    """Resolved -> the player says no -> escalated higher -> resolved -> confirmed -> closed."""
    assert run([E.AGENT_REPLY, E.RESOLVE, E.REJECT, E.RESOLVE, E.CONFIRM], confirm_close=True) == [
        S.OPEN,
        S.AWAITING_CONFIRMATION,
        S.ESCALATED,
        S.AWAITING_CONFIRMATION,
        S.CLOSED,
    ]
    rejected = step(S.AWAITING_CONFIRMATION, E.REJECT, confirm_close=True)
    assert rejected.priority_up and rejected.resume_sla and rejected.notify
    assert step(S.OPEN, E.RESOLVE, confirm_close=True).pause_sla


def test_without_confirm_close_resolving_resolves() -> None:
    assert run([E.RESOLVE, E.CLOSE], confirm_close=False) == [S.RESOLVED, S.CLOSED]


def test_asking_the_player_pauses_the_clock_until_they_answer() -> None:
    asked = step(S.OPEN, E.ASK_INFO)
    assert (asked.to, asked.pause_sla, asked.notify) == (S.PENDING, True, True)
    answered = step(S.PENDING, E.PLAYER_MESSAGE)
    assert (answered.to, answered.resume_sla, answered.notify) == (S.OPEN, True, False)


def test_a_player_writing_again_reopens_a_finished_request() -> None:
    for finished in (S.RESOLVED, S.CLOSED):
        again = step(finished, E.PLAYER_MESSAGE)
        assert again.to is S.OPEN and again.resume_sla
    # while waiting for their "resolved?", a message changes nothing
    assert step(S.AWAITING_CONFIRMATION, E.PLAYER_MESSAGE).to is S.AWAITING_CONFIRMATION


def test_no_answer_in_time_closes() -> None:
    assert step(S.AWAITING_CONFIRMATION, E.CONFIRM_TIMEOUT).to is S.CLOSED


@pytest.mark.parametrize(
    ("current", "event"),
    [
        (S.OPEN, E.CONFIRM),
        (S.OPEN, E.REJECT),
        (S.CLOSED, E.CLOSE),
        (S.CLOSED, E.RESOLVE),
        (S.RESOLVED, E.ASK_INFO),
        (S.ESCALATED, E.ESCALATE),
        (S.OPEN, E.CONFIRM_TIMEOUT),
        (S.OPEN, E.REOPEN),
    ],
)
def test_what_may_not_happen(current: Status, event: Event) -> None:
    with pytest.raises(StateError) as err:
        step(current, event, confirm_close=True)
    assert err.value.code == "wrong_state"


def test_unknown_status_is_a_clear_error() -> None:
    assert parse_status("awaiting_confirmation") is S.AWAITING_CONFIRMATION
    with pytest.raises(ClientError) as err:
        parse_status("done")
    assert err.value.code == "invalid_status" and err.value.field == "status"


@given(st.lists(st.sampled_from(list(Event)), max_size=30), st.booleans())
def test_a_request_only_closes_by_close_confirm_or_timeout(
    events: list[Event], confirm_close: bool
) -> None:
    now = S.OPEN
    for e in events:
        try:
            nxt = step(now, e, confirm_close=confirm_close)
        except StateError:
            continue
        if nxt.to is S.CLOSED and now is not S.CLOSED:
            assert e in (E.CLOSE, E.CONFIRM, E.CONFIRM_TIMEOUT)
        if nxt.to is S.AWAITING_CONFIRMATION and now is not S.AWAITING_CONFIRMATION:
            assert confirm_close and e is E.RESOLVE
        now = nxt.to
