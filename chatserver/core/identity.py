"""Who the player is: a signed token from the platform, a directory match, or a guest.

1. **Token**: the platform's backend signs the member's claims with HMAC-SHA256
   (a JWT with ``alg: HS256``): ``sub`` (member id), ``exp`` (expiry, epoch
   seconds), and optionally ``username``, ``email``, ``name``, ``birthdate``
   (``YYYY-MM-DD``). The signature is checked in constant time, only HS256 is
   accepted, and an expired or altered token is refused with its own code.
2. **Directory**: username and e-mail must belong to the same member.
3. **Guest**: name and e-mail, only for topics that need no membership data.

Where a birth date is known the player must be 18 or older. Pure: the caller
passes the time and does any look-up.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import jwt

from ..exceptions import ClientError

__all__ = [
    "ADULT_AGE",
    "IdentityError",
    "Member",
    "Via",
    "age_on",
    "check_age",
    "choose_check",
    "directory_match",
    "verify_identity_token",
]

ADULT_AGE = 18


class Via(StrEnum):
    TOKEN = "token"
    DIRECTORY = "directory"
    GUEST = "guest"


class IdentityError(ClientError):
    code = "identity_invalid"


@dataclass(frozen=True, slots=True)
class Member:
    """A platform member, as a token or the directory describes them."""

    member_id: str
    username: str | None = None
    email: str | None = None
    name: str | None = None
    birthdate: date | None = None


def _text(payload: dict[str, object], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise IdentityError(message=f"the identity token's {key} must be text", field="identity")
    return value.strip() or None


def verify_identity_token(
    token: str,
    secret: str,
    now: float,
    *,
    issuer: str | None = None,
    audience: str | None = None,
) -> Member:
    """The member a token vouches for; raises IdentityError (altered, malformed, expired,
    or not issued by ``issuer`` for ``audience`` when those are required)."""
    required = ["sub", "exp"] + (["iss"] if issuer else []) + (["aud"] if audience else [])
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=issuer,
            audience=audience,
            options={
                "require": required,
                "verify_exp": False,
                "verify_iat": False,
                "verify_aud": audience is not None,
            },
        )
    except jwt.MissingRequiredClaimError as exc:
        raise IdentityError(
            message=f"the identity token has no {exc.claim}", field="identity"
        ) from None
    except (jwt.InvalidIssuerError, jwt.InvalidAudienceError):
        raise IdentityError(
            message="the identity token was not issued for this chat service", field="identity"
        ) from None
    except jwt.InvalidTokenError:
        raise IdentityError(
            message="the identity token is not valid (altered or not signed with our secret)",
            field="identity",
        ) from None
    exp = payload["exp"]
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
        # NaN compares false with everything and infinity never comes: neither expires
        raise IdentityError(message="the identity token's exp must be a number", field="identity")
    if now >= exp:
        raise IdentityError(
            "identity_expired", "your sign-in has expired; reload the page", field="identity"
        )
    birthdate = None
    raw_birth = payload.get("birthdate")
    if raw_birth is not None:
        try:
            birthdate = date.fromisoformat(str(raw_birth))
        except ValueError:
            raise IdentityError(
                message="the identity token's birthdate must be YYYY-MM-DD", field="identity"
            ) from None
    return Member(
        member_id=str(payload["sub"]),
        username=_text(payload, "username"),
        email=_text(payload, "email"),
        name=_text(payload, "name"),
        birthdate=birthdate,
    )


def age_on(birthdate: date, today: date) -> int:
    """Whole years between the birth date and today."""
    before_birthday = (today.month, today.day) < (birthdate.month, birthdate.day)
    return today.year - birthdate.year - before_birthday


def check_age(birthdate: date | None, today: date) -> None:
    """Refuse, politely, a player known to be under 18."""
    if birthdate is not None and age_on(birthdate, today) < ADULT_AGE:
        raise ClientError(
            "under_age",
            "Sorry, live support is only for players aged 18 or older.",
            field="age_confirmed",
        )


def choose_check(
    *,
    has_token: bool,
    members_only: bool,
    modes: Collection[str],
    username: str | None,
    email: str | None,
    name: str | None,
) -> Via:
    """Which check a pre-chat form needs, or the ClientError that says what is missing."""
    if has_token and Via.TOKEN in modes:
        return Via.TOKEN
    if members_only or Via.GUEST not in modes:
        if Via.DIRECTORY not in modes:
            raise ClientError(
                "members_only", "sign in to the site to get help with this topic", field="topic"
            )
        if not username or not email:
            raise ClientError(
                "members_only",
                "this topic is for members: give your username and the e-mail of your account",
                field="username" if not username else "email",
            )
        return Via.DIRECTORY
    if not name or not email:
        raise ClientError(
            "identity_required",
            "give your name and e-mail address",
            field="name" if not name else "email",
        )
    return Via.GUEST


def directory_match(member: Member | None, username: str, email: str) -> Member:
    """The member if both fields are theirs; one answer for every kind of mismatch."""
    if (
        member is None
        or (member.username or "").casefold() != username.casefold()
        or (member.email or "").casefold() != email.casefold()
    ):
        raise ClientError(
            "identity_mismatch",
            "we could not match these details to an account; check them and try again",
            field="username",
        )
    return member
