"""Rules for the pre-chat form: who the player says they are, their topic, the 18+ gate.

Pure: the allowed topics are passed in. Each refusal carries the code and the
field the widget shows the message next to.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ..exceptions import ClientError
from .conversation import Player

__all__ = ["validate_prechat"]

# Deliberately loose: one @, something on both sides, a dot in the domain.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def validate_prechat(
    *,
    name: str | None,
    username: str | None,
    email: str | None,
    topic: str,
    age_confirmed: bool,
    topics: Collection[str],
    locale: str | None = None,
) -> Player:
    """The player as they introduced themselves, or a ClientError saying what to fix."""
    if not age_confirmed:
        raise ClientError(
            "age_required", "you must confirm that you are 18 or older", field="age_confirmed"
        )
    if topic not in topics:
        raise ClientError("unknown_topic", "choose one of the offered topics", field="topic")
    name, username, email = _clean(name), _clean(username), _clean(email)
    if email is not None and not _EMAIL.match(email):
        raise ClientError("invalid_email", "this e-mail address does not look right", field="email")
    if name is None and username is None and email is None:
        raise ClientError(
            "identity_required", "tell us your name, username or e-mail", field="name"
        )
    return Player(name=name, username=username, email=email, topic=topic, locale=locale)
