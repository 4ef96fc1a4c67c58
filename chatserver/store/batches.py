"""The writer's side of the stores: what a group commit writes, kind by kind, and what a new
request's transaction writes besides its row. Both databases."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

from .base import (
    AddAttachment,
    AppendMessage,
    AppendNote,
    CreateChat,
    CreateRequest,
    CreateSession,
    EnqueueWebhooks,
    Op,
    RateRequest,
    RecordRefusal,
    SaveChat,
)
from .outbox import ATTACHMENT_INSERT, EVENT_INSERT, attachment_row

__all__ = [
    "REQUEST_INSERT",
    "REQUEST_NUMBER_ATTEMPTS",
    "Step",
    "batch_plan",
    "request_created",
    "request_params",
]

REQUEST_NUMBER_ATTEMPTS = 8
REQUEST_INSERT = (
    "INSERT INTO requests (number, chat_id, status, created_at, updated_at,"
    " resolution, resolution_note, priority, awaiting_since, answer_token_hash, sla_budget,"
    " sla_since, sla_due) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (number) DO NOTHING"
)


def request_created(op: CreateRequest, number: str) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """What a new request's transaction also writes: its history (opened, and awaiting
    the player's confirmation if it starts so), then what ``op.then`` adds."""
    events: list[tuple[Any, ...]] = [
        (number, op.created_at, "system", None, "open", None, "status")
    ]
    if op.status != "open":
        events.append(
            (number, op.created_at, op.actor, "open", op.status, op.resolution_note, "status")
        )
    out: list[tuple[str, list[tuple[Any, ...]]]] = [
        (EVENT_INSERT, events),
        ("UPDATE chats SET request_number = ? WHERE id = ?", [(number, op.chat_id)]),
    ]
    if op.then is not None:
        out += op.then(number)
    return out


def request_params(op: CreateRequest, number: str) -> tuple[Any, ...]:
    awaiting = op.created_at if op.status == "awaiting_confirmation" else None
    running = op.created_at if op.sla_due is not None else None
    return (
        number, op.chat_id, op.status, op.created_at, op.created_at, op.resolution,
        op.resolution_note, op.priority, awaiting, op.answer_token_hash, op.sla_budget,
        running, op.sla_due,
    )  # fmt: skip


_INSERT = {
    CreateSession: "INSERT INTO sessions (id, token_hash, created_at, locale) VALUES (?, ?, ?, ?)",
    CreateChat: (
        "INSERT INTO chats (id, session_id, state, player_name, player_username, player_email,"
        " topic, locale, department, priority, member_id, verified_by, created_at, queued_at,"
        " player_phone, request_number) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    RecordRefusal: (
        "INSERT INTO refusals (at, reason, member_id, username, email, topic, session_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
    ),
    SaveChat: (
        "UPDATE chats SET state = ?, agent_id = ?, department = ?, requeued = ?,"
        " assigned_at = ?, first_response_at = ?, ended_at = ?, ended_by = ? WHERE id = ?"
    ),
    RateRequest: (
        "UPDATE requests SET resolved = ?, rating = ?, rating_comment = ?, rated_at = ?,"
        " updated_at = ?, nps = ? WHERE number = ?"
    ),
    AppendNote: (
        "INSERT INTO notes (chat_id, agent_id, client_id, author_name, text, after_seq, ts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
    ),
    AppendMessage: (
        "INSERT INTO messages (chat_id, seq, client_id, author, sender, agent_id, author_name,"
        " text, event, ts, file_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ),
    AddAttachment: ATTACHMENT_INSERT,
}


def _params(op: Op) -> tuple[Any, ...]:
    if isinstance(op, AppendMessage):
        m = op.message
        return (
            m.chat_id,
            m.seq,
            m.id,
            m.author_key,
            m.sender.value,
            m.agent_id,
            m.author_name,
            m.text,
            m.event,
            m.ts,
            m.file.id if m.file is not None else None,
        )
    if isinstance(op, AddAttachment):
        return attachment_row(op.attachment)
    if isinstance(op, SaveChat):
        return (
            op.state,
            op.agent_id,
            op.department,
            int(op.requeued),
            op.assigned_at,
            op.first_response_at,
            op.ended_at,
            op.ended_by,
            op.id,
        )
    if isinstance(op, CreateChat):
        p = op.player
        return (
            op.id,
            op.session_id,
            op.state,
            p.name,
            p.username,
            p.email,
            p.topic,
            p.locale,
            op.department,
            op.priority,
            p.member_id,
            p.verified_by,
            op.created_at,
            op.queued_at,
            p.phone,
            op.request_number,
        )
    if isinstance(op, RecordRefusal):
        return (op.at, op.reason, op.member_id, op.username, op.email, op.topic, op.session_id)
    if isinstance(op, CreateSession):
        return (op.id, op.token_hash, op.created_at, op.locale)
    if isinstance(op, AppendNote):
        n = op.note
        return (n.chat_id, n.agent_id, n.id, n.author_name, n.text, n.after_seq, n.ts)
    if isinstance(op, RateRequest):
        return (
            int(op.resolved),
            op.rating,
            op.comment,
            op.rated_at,
            op.rated_at,
            op.nps,
            op.number,
        )
    raise TypeError(f"no statement for {type(op).__name__}")


Step = CreateRequest | EnqueueWebhooks | tuple[str, list[tuple[Any, ...]]]

# Within a batch, ops are put in this order of kinds (stably: the ops of one kind keep
# theirs), so that each kind is one statement: a burst's pairings arrive as (session,
# chat) for each of a turn's chats, then (assignment, "joined") for each, which in the
# order given was a statement per op. A kind needs rows only of kinds before it (a chat
# its session, a message or a file its chat, a message its file); what the others do
# touches other rows, so the transaction's outcome is the same. Requests and webhook
# deliveries stay where they are, and nothing moves across them (a rating names a
# request, a delivery the number a request drew).
_ORDER: dict[type, int] = {
    CreateSession: 0,
    CreateChat: 1,
    AddAttachment: 2,
    SaveChat: 3,
    AppendMessage: 4,
    AppendNote: 5,
    RateRequest: 6,
    RecordRefusal: 7,
}
assert _ORDER.keys() == _INSERT.keys(), "every kind with a statement has its place"


def batch_plan(ops: Sequence[Op]) -> list[Step]:
    """The statements a group commit needs, in order: between requests and webhook
    deliveries (which stay as they are: request numbers are drawn as they are inserted),
    the ops in ``_ORDER`` of their kinds, each kind's run one ``(sql, rows)``."""
    steps: list[Step] = []
    run: list[Op] = []
    for op in ops:
        if isinstance(op, CreateRequest | EnqueueWebhooks):
            steps += _in_order(run)
            steps.append(op)
            run = []
        else:
            run.append(op)
    steps += _in_order(run)
    return steps


def _in_order(run: list[Op]) -> list[Step]:
    """One ``(sql, rows)`` per kind of ``run``, in ``_ORDER``."""
    return [
        (_INSERT[kind], [_params(op) for op in group])
        for kind, group in groupby(sorted(run, key=lambda op: _ORDER[type(op)]), key=type)
    ]
