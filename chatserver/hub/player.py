"""Frames from players (``/ws/player``): decode, check state and limits, call the hub.

Every refusal is a ``ClientError`` turned into an ``error`` frame here; the
connection stays open unless the client is flooding.
"""

from __future__ import annotations

from collections.abc import Awaitable

from ..core.conversation import ChatState, Message, Sender, clean_text, session_state
from ..core.prechat import Form, clean_form
from ..exceptions import ClientError, LimitError, StateError
from ..protocol import (
    EmailTranscript,
    FollowRequest,
    LeaveMessage,
    LookUp,
    MyRequests,
    PlayerEnd,
    PlayerFrame,
    PlayerHello,
    PlayerMessage,
    PlayerTyping,
    Prechat,
    Rate,
    decode_player,
    encode,
    message_frame,
)
from .connection import CLOSE_POLICY, CLOSE_SLOW, Connection
from .frames import Pending, check_text, check_version, count_for_address, process_frame
from .hub import Hub
from .identify import identify
from .mailing import email_transcript
from .player_requests import follow_up, look_up, my_requests
from .state import PlayerSession

__all__ = ["handle_player_frame"]


def handle_player_frame(hub: Hub, conn: Connection, text: str) -> Pending | None:
    """Handle one text frame from a player connection (see ``process_frame``)."""
    return process_frame(hub, conn, text, decode_player, _dispatch)


def _dispatch(hub: Hub, conn: Connection, frame: PlayerFrame) -> Awaitable[None] | None:
    """Handle ``frame`` now, or return what is left to await."""
    if isinstance(frame, PlayerHello):
        return _hello(hub, conn, frame)
    session = conn.session
    if session is None:
        raise StateError("hello_required", "send hello first")
    if isinstance(frame, PlayerMessage):
        _message(hub, conn, session, frame)
    elif isinstance(frame, PlayerTyping):
        _typing(hub, session, frame)
    elif isinstance(frame, Prechat):
        return _prechat(hub, conn, session, frame)
    elif isinstance(frame, PlayerEnd):
        _end(hub, session)
    elif isinstance(frame, LeaveMessage):
        return _leave_message(hub, conn, session, frame)
    elif isinstance(frame, Rate):
        comment = clean_text(frame.comment).strip() or None if frame.comment else None
        hub.rate(session, frame.resolved, frame.rating, comment, frame.nps)
    elif isinstance(frame, EmailTranscript):
        return _email_transcript(hub, conn, session)
    elif isinstance(frame, FollowRequest):
        return follow_up(hub, conn, session, frame)
    elif isinstance(frame, LookUp):
        return look_up(hub, conn, session, frame)
    elif isinstance(frame, MyRequests):
        return my_requests(hub, conn, session, frame.identity)
    return None


async def _email_transcript(hub: Hub, conn: Connection, session: PlayerSession) -> None:
    to = await email_transcript(hub, session)
    number = session.ended.request_number if session.ended else None
    conn.send({"type": "emailed", "request_number": number, "to": to})


async def _hello(hub: Hub, conn: Connection, frame: PlayerHello) -> None:
    if conn.session is not None:
        raise StateError("already_hello", "hello was already sent on this connection")
    check_version(frame.v)
    session = await hub.find_session(frame.resume) if frame.resume else None
    resumed = session is not None
    if session is None or frame.resume is None:
        count_for_address(
            hub.address_sessions, conn, "too_many_sessions", "too many new chat sessions"
        )
        token, session = hub.new_session(frame.locale)
    else:
        token = frame.resume
    last_seq = frame.last_seq if resumed and frame.last_seq is not None else 0
    ended = session.ended
    replay_ended = []
    if session.chat is None and ended is not None and last_seq < ended.last_seq:
        # an ended chat is immutable, so reading it before attaching cannot miss anything
        replay_ended = await hub.store.messages(ended.chat_id, last_seq)
    live = session.chat
    older: list[Message] = []
    if live is not None and not live.conv.has_after(last_seq):
        # a long chat keeps only its latest messages in memory: the rest from the store
        older = await hub.store.messages(live.id, last_seq)
        last_seq = max(last_seq, older[-1].seq if older else 0)
        if session.chat is not live or not live.conv.has_after(last_seq):
            # it ended or moved on meanwhile (rare): the client resumes on a new socket
            conn.close(CLOSE_SLOW, "reconnect and resume")
            return
    # checked here, with nothing awaited before the attach: tabs opening at once count each
    if len(session.conns) >= hub.settings.max_sockets_per_session:
        conn.send_error(
            LimitError("too_many_connections", "this chat is open in too many windows; close one")
        )
        conn.close(CLOSE_POLICY, "too many windows")
        return
    hub.attach_player(conn, session)

    live = session.chat
    welcome: dict[str, object] = {
        "type": "welcome",
        "session": token,
        "resumed": resumed,
        "state": session_state(live.conv if live else None),
        "available": hub.available,
        # whether "e-mail me the transcript" can work here (a mail server is set up)
        "email": bool(hub.settings.smtp_host),
    }
    ping = hub.heartbeat(conn)
    if ping is not None:
        welcome["ping_seconds"] = ping
    if live is not None:
        welcome["chat"] = live.id
        welcome["last_seq"] = live.conv.committed_seq
        if live.notified_agent is not None and live.conv.agent_name:
            welcome["agent"] = {"name": live.conv.agent_name}
    elif ended is not None:
        welcome.update(
            state="ended",
            chat=ended.chat_id,
            last_seq=ended.last_seq,
            request_number=ended.request_number,
        )
    conn.send(welcome)
    # replay, then the live stream continues on the same ordered outbox
    replay = older + live.conv.after(last_seq) if live is not None else replay_ended
    for msg in replay:
        conn.send(message_frame(msg, chat=False))
    if live is not None and live.conv.state is ChatState.QUEUED and live.created:
        queued = hub.waiting.frame(live)
        if queued is not None:
            conn.send(queued)


def _form(
    hub: Hub, conn: Connection, session: PlayerSession, frame: Prechat | LeaveMessage
) -> Form:
    """The cleaned form; only while no chat is in progress or being started. Each form
    counts against the address's new chats a minute."""
    if session.chat is not None or session.starting:
        raise StateError("wrong_state", "you already have a chat in progress")
    count_for_address(hub.address_chats, conn, "too_many_chats", "too many new chats")
    return clean_form(
        name=frame.name,
        username=frame.username,
        email=frame.email,
        topic=frame.topic,
        age_confirmed=frame.age_confirmed,
        topics=hub.routing.topics,
        phone=frame.phone if isinstance(frame, Prechat) else None,
    )


async def _prechat(hub: Hub, conn: Connection, session: PlayerSession, frame: Prechat) -> None:
    await hub.turns.take()  # a crowd arriving at once starts in slices, first come first
    form = _form(hub, conn, session, frame)
    hub.check_open(form.topic)  # closed or nobody there: say so before asking anything else
    session.starting = True
    try:
        player = await identify(hub, conn, session, form, frame.identity)
    finally:
        session.starting = False
    if session.chat is not None:  # another tab started one while we were checking
        raise StateError("wrong_state", "you already have a chat in progress")
    hub.create_chat(session, player, form.topic)


async def _leave_message(
    hub: Hub, conn: Connection, session: PlayerSession, frame: LeaveMessage
) -> None:
    if frame.id == session.last_left_id:
        # a resend: the request exists (or is being stored and will be announced)
        if session.ended is not None and session.chat is None:
            conn.send(session.ended.frame())
        return
    form = _form(hub, conn, session, frame)
    if form.email is None:
        raise ClientError(
            "email_required", "give an e-mail address so we can answer", field="email"
        )
    text = check_text(hub, frame.text, frame.id)
    session.starting = True
    try:
        player = await identify(hub, conn, session, form, frame.identity, offline=True)
    finally:
        session.starting = False
    if session.chat is not None:
        raise StateError("wrong_state", "you already have a chat in progress")
    hub.leave_message(session, player, form.topic, frame.id, text)


def _message(hub: Hub, conn: Connection, session: PlayerSession, frame: PlayerMessage) -> None:
    live = session.chat
    if live is None or live.conv.state is ChatState.ENDED:
        raise StateError("wrong_state", "there is no chat in progress", id=frame.id)
    text = check_text(hub, frame.text, frame.id)
    try:
        hub.post_message(live, Sender.PLAYER, frame.id, text, conn)
    except ClientError as err:
        err.extra.setdefault("id", frame.id)
        raise


def _typing(hub: Hub, session: PlayerSession, frame: PlayerTyping) -> None:
    live = session.chat
    if live is None or live.conv.state is ChatState.ENDED:
        raise StateError("wrong_state", "there is no chat in progress")
    if frame.active:
        hub.player_active(live, hub.clock())
    hub.bus.publish(
        live.topic,
        encode({"type": "typing", "chat": live.id, "from": "player", "active": frame.active}),
    )


def _end(hub: Hub, session: PlayerSession) -> None:
    live = session.chat
    if live is None or live.conv.state is ChatState.ENDED:
        raise StateError("wrong_state", "there is no chat in progress")
    hub.end_chat(live, by="player")
