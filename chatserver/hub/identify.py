"""Who is starting a chat: a signed token, a directory match, or a guest.

The rules are ``core.identity``'s; this module does the look-up, throttles failed
directory checks per session and per address, and records an under-age refusal.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ..config import Settings
from ..core.conversation import Player
from ..core.identity import (
    Member,
    Via,
    check_age,
    choose_check,
    directory_match,
    verify_identity_token,
)
from ..core.prechat import Form, player_for
from ..directory import DirectoryUnavailable
from ..exceptions import ClientError
from .connection import Connection
from .hub import Hub
from .state import PlayerSession

__all__ = ["claims", "identify", "vouched_member"]


async def identify(
    hub: Hub,
    conn: Connection,
    session: PlayerSession,
    form: Form,
    token: str | None,
    *,
    offline: bool = False,
) -> Player:
    """The player of a new chat, checked as the deployment and the topic require.

    ``offline``: the leave-a-message path, where a token still counts but no
    directory check is asked for (the answer goes to the e-mail address).
    """
    s = hub.settings
    has_token = bool(token) and "token" in s.identity_modes and bool(s.identity_secret)
    if offline:
        via = Via.TOKEN if has_token else Via.GUEST
    else:
        via = choose_check(
            has_token=has_token,
            members_only=form.topic.members_only,
            modes=s.identity_modes,
            username=form.username,
            email=form.email,
            name=form.name,
        )
    member: Member | None = None
    if via is Via.TOKEN:
        assert token is not None
        keys = {"session": session.id, "address": conn.address}
        attempt = hub.identity_throttle.attempt(keys, "too many failed sign-in checks")
        member = verify_identity_token(token, s.identity_secret, hub.clock(), **claims(s))
        attempt.give_back()
    elif via is Via.DIRECTORY:
        assert form.username is not None and form.email is not None
        member = await _look_up(hub, conn, session, form.username, form.email)
    player = player_for(form, via, member, session.locale)
    if member is not None:
        today = datetime.fromtimestamp(hub.clock(), ZoneInfo(s.timezone)).date()
        try:
            check_age(member.birthdate, today)
        except ClientError:
            hub.record_refusal(session, "under_age", player, member.member_id)
            raise
    return player


def vouched_member(hub: Hub, keys: dict[str, str], token: str) -> Member:
    """The member the platform's token vouches for (outside a pre-chat: a player's own
    requests); failures count under ``keys`` as for a pre-chat."""
    s = hub.settings
    if "token" not in s.identity_modes or not s.identity_secret:
        raise ClientError("identity_invalid", "this server takes no identity tokens")
    attempt = hub.identity_throttle.attempt(keys, "too many failed sign-in checks")
    member = verify_identity_token(token, s.identity_secret, hub.clock(), **claims(s))
    attempt.give_back()
    return member


def claims(s: Settings) -> dict[str, str | None]:
    return {"issuer": s.identity_issuer or None, "audience": s.identity_audience or None}


async def _look_up(
    hub: Hub, conn: Connection, session: PlayerSession, username: str, email: str
) -> Member:
    keys = {"session": session.id, "address": conn.address, "member": username.casefold()}
    attempt = hub.identity_throttle.attempt(keys, "too many failed account checks")
    try:
        found = await hub.directory.find(username, email)
    except DirectoryUnavailable:
        attempt.give_back()  # nothing was checked
        raise ClientError(
            "verification_unavailable",
            "we cannot check your account right now; please try again in a few minutes",
            field="username",
        ) from None
    member = directory_match(found, username, email)  # a wrong pair keeps its attempt counted
    attempt.give_back()
    return member
