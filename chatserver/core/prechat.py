"""The pre-chat form: the 18+ box, the topic, and clean, plausible identity fields.

Which identity check the player then needs is ``identity.choose_check``; the
player who comes out of it is ``player_for``. Pure: topics are passed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..exceptions import ClientError
from .conversation import Player
from .identity import Member, Via
from .topics import Topic

__all__ = ["Form", "clean_form", "player_for"]

# Deliberately loose: one @, something on both sides, a dot in the domain.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")


@dataclass(frozen=True, slots=True)
class Form:
    topic: Topic
    name: str | None
    username: str | None
    email: str | None
    phone: str | None = None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def clean_form(
    *,
    name: str | None,
    username: str | None,
    email: str | None,
    topic: str,
    age_confirmed: bool,
    topics: Mapping[str, Topic],
    phone: str | None = None,
) -> Form:
    """The form as we keep it, or a ClientError naming the field to fix."""
    if not age_confirmed:
        raise ClientError(
            "age_required", "you must confirm that you are 18 or older", field="age_confirmed"
        )
    chosen = topics.get(topic)
    if chosen is None:
        raise ClientError("unknown_topic", "choose one of the offered topics", field="topic")
    name, username, email = _clean(name), _clean(username), _clean(email)
    if email is not None and not _EMAIL.match(email):
        raise ClientError("invalid_email", "this e-mail address does not look right", field="email")
    return Form(chosen, name, username, email, clean_phone(phone))


def clean_phone(raw: str | None) -> str | None:
    """A phone number for SMS: + and 8-15 digits (spaces, dashes, dots and brackets are
    dropped); ClientError ``invalid_phone`` otherwise."""
    if raw is None or not raw.strip():
        return None
    phone = "".join(ch for ch in raw if ch not in " -.()")
    if not _PHONE.match(phone):
        raise ClientError("invalid_phone", "this phone number does not look right", field="phone")
    return phone if phone.startswith("+") else f"+{phone}"


def player_for(form: Form, via: Via, member: Member | None, locale: str | None) -> Player:
    """The player of a chat: a verified member's own details win over what was typed."""
    if member is None or via is Via.GUEST:
        return Player(form.name, form.username, form.email, form.topic.id, locale, phone=form.phone)
    return Player(
        name=member.name or form.name,
        username=member.username or form.username,
        email=member.email or form.email,
        topic=form.topic.id,
        locale=locale,
        member_id=member.member_id,
        verified_by=via.value,
        phone=form.phone,
    )
