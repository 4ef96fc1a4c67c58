"""Pre-chat form rules: the 18+ gate, topics, identity fields."""

from __future__ import annotations

from typing import Any

import pytest

from chatserver.core.prechat import validate_prechat
from chatserver.exceptions import ClientError

TOPICS = ("payments", "technical")


def form(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        name="Mehmet", username=None, email=None, topic="payments", age_confirmed=True
    )
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"age_confirmed": False}, "age_required", "age_confirmed"),
        ({"topic": "casino"}, "unknown_topic", "topic"),
        ({"name": None}, "identity_required", "name"),
        ({"name": "   "}, "identity_required", "name"),
        ({"email": "not-an-address"}, "invalid_email", "email"),
        ({"email": "a@b"}, "invalid_email", "email"),
        ({"email": "a b@c.com"}, "invalid_email", "email"),
    ],
)
def test_refusals(changes: dict[str, Any], code: str, field: str) -> None:
    """Each broken form is refused with the code and the field to fix."""
    with pytest.raises(ClientError) as info:
        validate_prechat(topics=TOPICS, **form(**changes))
    assert (info.value.code, info.value.field) == (code, field)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"name": None, "username": "mehmet42"},
        {"name": None, "email": "m@example.com.tr"},
    ],
)
def test_accepted(changes: dict[str, Any]) -> None:
    """Any one of name, username or e-mail is enough."""
    player = validate_prechat(topics=TOPICS, locale="tr", **form(**changes))
    assert player.topic == "payments" and player.locale == "tr"


def test_whitespace_is_normalised() -> None:
    """Leading, trailing and repeated spaces are collapsed."""
    player = validate_prechat(topics=TOPICS, **form(name="  Mehmet   Can ", username=" m42 "))
    assert (player.name, player.username) == ("Mehmet Can", "m42")
