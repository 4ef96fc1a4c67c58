"""What every inbound frame goes through, on either endpoint, before its own handler.

Charge the connection's token bucket, refuse oversized frames, decode, answer
``ping`` (and take a ``pong``, the answer to ours), then dispatch. A ``ClientError``
raised anywhere becomes an ``error`` frame on that connection, which stays open
(unless it is flooding).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from ..core.conversation import clean_text
from ..core.limits import TokenBucket
from ..exceptions import ClientError, LimitError, ProtocolError
from ..protocol import PROTOCOL_VERSION, Ping, Pong, encode
from ..throttle import Window
from .connection import CLOSE_POLICY, Connection
from .hub import Hub
from .state import PlayerSession

__all__ = ["Pending", "check_text", "check_version", "process_frame"]

F = TypeVar("F")
PONG = encode({"type": "pong"})


Pending = Coroutine[Any, Any, None]


def process_frame(
    hub: Hub,
    conn: Connection,
    text: str,
    decode: Callable[[str], F],
    dispatch: Callable[[Hub, Connection, F], Awaitable[None] | None],
) -> Pending | None:
    """Run one text frame through the common checks, then ``dispatch`` it.

    Most frames (messages, typing, pings) are handled at once; one that must wait for
    something (``hello`` reading the store, an identity check) comes back as a
    coroutine to await before the connection's next frame."""
    now = hub.clock()
    conn.last_recv = now
    # the token is taken before decoding so that garbage and oversized frames count too
    wait = conn.bucket.take(now)
    if wait and conn.bucket.flooding:
        conn.close(CLOSE_POLICY, "too many frames")
    try:
        _check_size(hub, text)
        frame = decode(text)
        if isinstance(frame, Ping | Pong):
            if wait:
                raise _rate_limited(wait, frame)
            if isinstance(frame, Ping):
                conn.push(PONG)
            return None  # (a pong answers our ping: being here was the point)
        session = conn.session
        if not wait and session is not None:
            # and from the player's session: ten sockets of one player share one allowance
            bucket = _session_bucket(hub, session)
            wait = bucket.take(now)
            if wait and bucket.flooding:
                conn.close(CLOSE_POLICY, "too many frames")
        if wait:
            raise _rate_limited(wait, frame)
        pending = dispatch(hub, conn, frame)
    except ClientError as err:
        conn.send_error(err)
        return None
    return None if pending is None else _finish(conn, pending)


def _session_bucket(hub: Hub, session: PlayerSession) -> TokenBucket:
    if session.bucket is None:
        s = hub.settings
        session.bucket = TokenBucket(s.player_rate, s.player_burst, s.flood_after)
    return session.bucket


async def _finish(conn: Connection, pending: Awaitable[None]) -> None:
    try:
        await pending
    except ClientError as err:
        conn.send_error(err)


def _rate_limited(wait: float, frame: object) -> LimitError:
    client_id = getattr(frame, "id", None)
    extra = {"id": client_id} if client_id is not None else {}
    return LimitError(
        "rate_limited", "too many frames; slow down", retry_after_ms=int(wait * 1000) + 1, **extra
    )


def _check_size(hub: Hub, text: str) -> None:
    """Refuse a frame over ``max_frame_bytes`` (bigger ones never reach us: see ws_max_bytes)."""
    limit = hub.settings.max_frame_bytes
    # a character is at most 4 bytes: count bytes only when it could matter
    if len(text) * 4 > limit and len(text.encode()) > limit:
        raise LimitError("frame_too_large", f"a frame can have at most {limit} bytes")


def check_version(v: int) -> None:
    if v != PROTOCOL_VERSION:
        raise ProtocolError(
            "unsupported_version",
            f"this server speaks protocol version {PROTOCOL_VERSION}",
            field="v",
        )


def check_text(hub: Hub, text: str, client_id: str) -> str:
    """A message text as stored, or the reason it is refused (naming the message id)."""
    text = clean_text(text)
    if not text.strip():
        raise ClientError("empty_message", "a message needs some text", field="text", id=client_id)
    limit = hub.settings.max_message_chars
    if len(text) > limit:
        raise LimitError(
            "message_too_long",
            f"a message can have at most {limit} characters",
            field="text",
            id=client_id,
        )
    return text


def count_for_address(window: Window, conn: Connection, code: str, what: str) -> None:
    """Count one more of ``what`` for the connection's address, or refuse it."""
    wait = window.take(conn.address)
    if wait:
        raise LimitError(
            code, f"{what} from your address; try again in a minute", retry_after=int(wait) + 1
        )
