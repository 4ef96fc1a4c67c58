"""Identity: signed tokens (tampering, expiry, claims), age, and which check a form needs."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Any

import jwt
import pytest

from chatserver.core.identity import (
    Member,
    Via,
    age_on,
    check_age,
    choose_check,
    verify_identity_token,
)
from chatserver.exceptions import ClientError

SECRET = "platform-shared-secret-" + "0123456789abcdef" * 4
NOW = 1_800_000_000.0


def token(secret: str = SECRET, algorithm: str = "HS256", **claims: Any) -> str:
    payload = {"sub": "m-42", "exp": NOW + 600, **claims}
    return jwt.encode(
        {k: v for k, v in payload.items() if v is not None}, secret, algorithm=algorithm
    )


def test_a_good_token_gives_the_member() -> None:
    """All claims come through; missing optional ones are None."""
    t = token(username="mehmet42", email="m@example.com", name="Mehmet", birthdate="1990-05-01")
    assert verify_identity_token(t, SECRET, NOW) == Member(
        "m-42", "mehmet42", "m@example.com", "Mehmet", date(1990, 5, 1)
    )
    assert verify_identity_token(token(), SECRET, NOW) == Member("m-42")


def tampered() -> str:
    head, body, sig = token(username="mehmet42").split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["username"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: token(exp=NOW - 1), "identity_expired"),
        (lambda: token(exp=NOW), "identity_expired"),
        (tampered, "identity_invalid"),
        (lambda: token(secret="another-platform-entirely-" * 3), "identity_invalid"),
        (lambda: token(algorithm="HS512"), "identity_invalid"),
        (
            lambda: jwt.encode({"sub": "m", "exp": NOW + 9}, None, algorithm="none"),
            "identity_invalid",
        ),
        (lambda: "not.a.token", "identity_invalid"),
        (lambda: "", "identity_invalid"),
        (lambda: token(exp=None), "identity_invalid"),
        (lambda: token(sub=None), "identity_invalid"),
        (lambda: token(exp="tomorrow"), "identity_invalid"),
        (lambda: token(birthdate="01/05/1990"), "identity_invalid"),
        (lambda: token(username=42), "identity_invalid"),
    ],
)
def test_bad_tokens_are_refused_with_their_code(make: Any, code: str) -> None:
    """Expired, altered, foreign, wrongly signed or malformed tokens each get a clear code."""
    with pytest.raises(ClientError) as info:
        verify_identity_token(make(), SECRET, NOW)
    assert info.value.code == code and info.value.field == "identity"


@pytest.mark.parametrize(
    ("born", "today", "age"),
    [
        (date(2008, 11, 22), date(2026, 11, 22), 18),  # birthday today
        (date(2008, 11, 23), date(2026, 11, 22), 17),  # tomorrow
        (date(2008, 2, 29), date(2026, 2, 28), 17),  # leap day, before the birthday
        (date(2008, 2, 29), date(2026, 3, 1), 18),
    ],
)
def test_age(born: date, today: date, age: int) -> None:
    assert age_on(born, today) == age


def test_under_age_is_refused_politely() -> None:
    """Only a known birth date can refuse; unknown means the 18+ box decides."""
    check_age(None, date(2026, 1, 1))
    check_age(date(2000, 1, 1), date(2026, 1, 1))
    with pytest.raises(ClientError) as info:
        check_age(date(2010, 1, 1), date(2026, 1, 1))
    assert info.value.code == "under_age" and "18" in info.value.message


ALL = ("token", "directory", "guest")


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        (dict(has_token=True, members_only=True), Via.TOKEN),
        (dict(members_only=True, username="u", email="e@x.io"), Via.DIRECTORY),
        (dict(members_only=False, name="N", email="e@x.io"), Via.GUEST),
        (
            dict(members_only=False, modes=("directory",), username="u", email="e@x.io"),
            Via.DIRECTORY,
        ),
        (
            dict(has_token=True, members_only=False, modes=("guest",), name="N", email="e@x.io"),
            Via.GUEST,
        ),
    ],
)
def test_which_check(kw: dict[str, Any], expected: Via) -> None:
    """Token when given; members-only topics need a check; other topics take guests."""
    args: dict[str, Any] = dict(has_token=False, modes=ALL, username=None, email=None, name=None)
    args.update(kw)
    assert choose_check(**args) == expected


@pytest.mark.parametrize(
    ("kw", "code", "field"),
    [
        (dict(members_only=True, username="u"), "members_only", "email"),
        (dict(members_only=True, email="e@x.io"), "members_only", "username"),
        (
            dict(members_only=True, modes=("token", "guest"), username="u", email="e"),
            "members_only",
            "topic",
        ),
        (dict(members_only=False, name="N"), "identity_required", "email"),
        (dict(members_only=False, email="e@x.io"), "identity_required", "name"),
    ],
)
def test_what_is_missing(kw: dict[str, Any], code: str, field: str) -> None:
    """The refusal names the field the player has to fill in."""
    args: dict[str, Any] = dict(has_token=False, modes=ALL, username=None, email=None, name=None)
    args.update(kw)
    with pytest.raises(ClientError) as info:
        choose_check(**args)
    assert (info.value.code, info.value.field) == (code, field)
