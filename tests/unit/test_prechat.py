"""The pre-chat form: the 18+ box, topics, e-mail shape, and who the player becomes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from chatserver.core.identity import Member, Via
from chatserver.core.prechat import clean_form, player_for
from chatserver.core.topics import Topic
from chatserver.exceptions import ClientError

TOPICS = {
    "payments": Topic("payments", "finance", {}, members_only=True),
    "technical": Topic("technical", "technical", {}),
}


def form(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        name="Mehmet", username=None, email="m@example.com", topic="technical", age_confirmed=True
    )
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"age_confirmed": False}, "age_required", "age_confirmed"),
        ({"topic": "casino"}, "unknown_topic", "topic"),
        ({"email": "not-an-address"}, "invalid_email", "email"),
        ({"email": "a@b"}, "invalid_email", "email"),
        ({"email": "a b@c.com"}, "invalid_email", "email"),
    ],
)
def test_refusals(changes: dict[str, Any], code: str, field: str) -> None:
    """Each broken form is refused with the code and the field to fix."""
    with pytest.raises(ClientError) as info:
        clean_form(topics=TOPICS, **form(**changes))
    assert (info.value.code, info.value.field) == (code, field)


def test_whitespace_is_normalised() -> None:
    """Leading, trailing and repeated spaces are collapsed; blank becomes None."""
    f = clean_form(topics=TOPICS, **form(name="  Mehmet   Can ", username="   "))
    assert (f.name, f.username, f.topic.id) == ("Mehmet Can", None, "technical")


def test_a_verified_members_own_details_win() -> None:
    """Typed details are kept for guests; a verified member's come from the platform."""
    f = clean_form(topics=TOPICS, **form(topic="payments", username="typed", name="Typed"))
    guest = player_for(f, Via.GUEST, None, "tr")
    assert (guest.username, guest.verified_by, guest.locale) == ("typed", None, "tr")
    member = Member("m-1", "mehmet42", "real@example.com", None, date(1990, 1, 1))
    p = player_for(f, Via.TOKEN, member, "tr")
    assert (p.username, p.email, p.name, p.member_id, p.verified_by) == (
        "mehmet42",
        "real@example.com",
        "Typed",
        "m-1",
        "token",
    )
    assert p.public()["verified"] is True
