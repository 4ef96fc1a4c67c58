"""Players' frames about their earlier requests (``/ws/player``): look one up, write on it
(a live chat on it, or kept for the team), and a signed-in member's own requests.

A request is found by its number and the contact it was made with, by its number and the
member's identity token, or by a notification's link; a wrong contact or member is answered
exactly like an unknown number, and failed look-ups count per address and per number, as on
the request page."""

from __future__ import annotations

from ..core.identity import Member
from ..core.requests import InvalidRequestNumber, format_request_number, parse_request_number
from ..desk.public import iso, public_status
from ..exceptions import ClientError, NotFoundError, StateError
from ..protocol import FollowRequest, LookUp
from ..security import token_hash
from ..store import RequestRecord
from .connection import Connection
from .frames import check_text, count_for_address
from .hub import Hub
from .identify import vouched_member
from .state import PlayerSession

__all__ = ["follow_up", "look_up", "my_requests"]


async def follow_up(
    hub: Hub, conn: Connection, session: PlayerSession, frame: FollowRequest
) -> None:
    """The player writes on an earlier request: a live chat on it, or kept for the team
    (``following`` says which). A wrong contact is answered like an unknown number, and
    failed look-ups count per address and per number, as on the request page."""
    if frame.id == session.last_left_id and session.followed is not None:
        conn.send(session.followed)  # a resend: already taken
        return
    if session.chat is not None or session.starting:
        raise StateError("wrong_state", "you already have a chat in progress", id=frame.id)
    text = check_text(hub, frame.text, frame.id)
    count_for_address(hub.address_chats, conn, "too_many_chats", "too many new chats")
    session.starting = True
    try:
        rec = await _find(hub, conn, session, frame, frame.id)
        live = None
        if session.chat is None and hub.can_chat_on(rec):
            live = hub.chat_on(session, rec, frame.id, text)
        elif hub.desk is not None:
            rec = await hub.desk.follow_up(rec.number, text)
            session.last_left_id = frame.id
    finally:
        session.starting = False
    session.followed = hub.following(rec, live)
    conn.send(session.followed)
    if live is None:  # the request as it is now, with their words on it
        _watch(hub, conn, rec.number)
        conn.send({"type": "request", **public_status(rec, transcript=True)})


async def my_requests(hub: Hub, conn: Connection, session: PlayerSession, identity: str) -> None:
    """A signed-in member's own requests, newest first (``requests``)."""
    member = _member(hub, conn, session, identity)
    rows = await hub.store.requests_of_member(member.member_id, 50)
    listed = [
        {
            "number": format_request_number(r["number"]),
            "status": r["status"],
            "topic": r["topic"],
            "created_at": iso(r["created_at"]),
            "updated_at": iso(r["updated_at"]),
        }
        for r in rows
    ]
    conn.send({"type": "requests", "requests": listed})


def _member(hub: Hub, conn: Connection, session: PlayerSession, identity: str) -> Member:
    return vouched_member(hub, {"session": session.id, "address": conn.address}, identity)


async def look_up(hub: Hub, conn: Connection, session: PlayerSession, frame: LookUp) -> None:
    """The player's view of an earlier request (``request``), for the widget's "Follow a
    request"."""
    rec = await _find(hub, conn, session, frame)
    _watch(hub, conn, rec.number)
    conn.send({"type": "request", **public_status(rec, transcript=True)})


WATCHED_MAX = 5  # requests one connection hears about at once


def _watch(hub: Hub, conn: Connection, number: str) -> None:
    """The connection hears ``request_changed`` for this request from now on (for a few
    requests at most: past that, another one's is dropped)."""
    topic = f"request:{number}"
    if topic in conn.topics:
        return
    watched = sorted(t for t in conn.topics if t.startswith("request:"))
    for old in watched[: max(0, len(watched) - WATCHED_MAX + 1)]:
        hub.unsubscribe(conn, old)
    hub.subscribe(conn, topic)


async def _find(
    hub: Hub,
    conn: Connection,
    session: PlayerSession,
    frame: LookUp | FollowRequest,
    client_id: str | None = None,
) -> RequestRecord:
    """The request a notification's link opens (``link_expired`` once it has expired), or
    the request if its number and the contact (e-mail or username) or the member's identity
    token go together; one answer for every kind of wrong, and failed look-ups count per
    address and per number, as on the request page."""
    if frame.link is not None:
        attempt = hub.lookups.attempt({"address": conn.address}, "too many failed links")
        number = await hub.store.request_by_link(token_hash(frame.link), hub.clock())
        rec = await hub.store.request(number) if number else None
        if rec is None:
            raise _with_id(NotFoundError("link_expired", "this link has expired"), client_id)
        attempt.give_back()
        return rec
    member = _member(hub, conn, session, frame.identity) if frame.identity else None
    number, contact = frame.number, frame.contact
    try:
        canonical: str | None = parse_request_number(number)
    except InvalidRequestNumber:
        canonical = None
    keys = {"address": conn.address, "request": canonical or number.upper()}
    attempt = hub.lookups.attempt(keys, "too many failed lookups")
    rec = None
    if canonical is not None and member is not None:
        rec = await hub.store.request(canonical)
        if rec is not None and member.member_id not in {c.member_id for c in rec.chats}:
            rec = None
    elif canonical is not None and contact.strip():
        rec = await hub.store.lookup_request(canonical, contact)
    if rec is None:  # the attempt stays counted
        err = NotFoundError(
            "request_not_found", "no request matches this number and e-mail or username"
        )
        raise _with_id(err, client_id)
    attempt.give_back()
    return rec


def _with_id(err: ClientError, client_id: str | None) -> ClientError:
    if client_id is not None:
        err.extra["id"] = client_id
    return err
