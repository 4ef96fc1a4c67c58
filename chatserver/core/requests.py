"""Request numbers: short, readable, unguessable, with a check character.

A request number is 45 random bits written as 9 Crockford base32 characters,
followed by one check character, shown in two groups of five: ``7QM3R-XD2TK``.

The check character treats characters as elements of GF(32) (polynomial
x^5 + x^2 + 1) and requires ``sum(a^(n-i) * c_i) == 0`` with ``a = x``. Because
``a`` and ``a + 1`` are non-zero, every single mistyped character and every
swap of two neighbouring characters changes the sum, so it is caught before any
lookup. Parsing is forgiving the Crockford way: case-insensitive, hyphens and
spaces ignored, ``O`` read as ``0`` and ``I``/``L`` as ``1``.

Pure: the caller supplies the random bits.
"""

from __future__ import annotations

from enum import StrEnum

from ..exceptions import ClientError, StateError

__all__ = [
    "ALPHABET",
    "DATA_BITS",
    "InvalidRequestNumber",
    "RequestStatus",
    "check_status_change",
    "format_request_number",
    "parse_request_number",
    "request_number_from_bits",
]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_BITS = 45
_DATA_CHARS = DATA_BITS // 5
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_VALUE.update({"O": 0, "I": 1, "L": 1})
_POLY = 0b100101  # x^5 + x^2 + 1, primitive over GF(2)


class InvalidRequestNumber(ClientError):
    """The text is not a well-formed request number (wrong length, character or check)."""

    code = "invalid_request_number"


def _times_a(v: int) -> int:
    v <<= 1
    if v & 0b100000:
        v ^= _POLY
    return v


def _checksum(values: list[int]) -> int:
    acc = 0
    for v in values:
        acc = _times_a(acc) ^ v
    return acc


def request_number_from_bits(bits: int) -> str:
    """Canonical request number (10 characters, no hyphen) for 45 random bits."""
    if not 0 <= bits < (1 << DATA_BITS):
        raise ValueError("bits out of range")
    values = [(bits >> (5 * (_DATA_CHARS - 1 - i))) & 31 for i in range(_DATA_CHARS)]
    values.append(_times_a(_checksum(values)))
    return "".join(ALPHABET[v] for v in values)


def format_request_number(canonical: str) -> str:
    """Display form: ``ABCDE-FGHJK``."""
    return f"{canonical[:5]}-{canonical[5:]}"


def parse_request_number(text: str) -> str:
    """Canonical form of a typed request number; raises InvalidRequestNumber."""
    cleaned = text.replace("-", "").replace(" ", "").upper()
    if len(cleaned) != _DATA_CHARS + 1:
        raise InvalidRequestNumber(
            message=f"a request number has {_DATA_CHARS + 1} characters, like ABCDE-FGHJK"
        )
    try:
        values = [_VALUE[ch] for ch in cleaned]
    except KeyError:
        raise InvalidRequestNumber(
            message="a request number uses only digits and the letters A-Z without U"
        ) from None
    if _checksum(values) != 0:
        raise InvalidRequestNumber(message="this request number has a typing mistake")
    return "".join(ALPHABET[v] for v in values)


class RequestStatus(StrEnum):
    """A request's life after its chat: worked on, waiting, solved, done (and reopened)."""

    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


_NEXT: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.OPEN: frozenset(
        {RequestStatus.PENDING, RequestStatus.RESOLVED, RequestStatus.CLOSED}
    ),
    RequestStatus.PENDING: frozenset(
        {RequestStatus.OPEN, RequestStatus.RESOLVED, RequestStatus.CLOSED}
    ),
    RequestStatus.RESOLVED: frozenset({RequestStatus.OPEN, RequestStatus.CLOSED}),
    RequestStatus.CLOSED: frozenset({RequestStatus.OPEN}),
}


def check_status_change(current: str, wanted: str) -> RequestStatus:
    """The new status if the change is allowed; StateError otherwise (reopening is open)."""
    try:
        to = RequestStatus(wanted)
    except ValueError:
        raise ClientError(
            "invalid_status",
            "status must be open, pending, resolved or closed",
            field="status",
        ) from None
    if to not in _NEXT[RequestStatus(current)]:
        raise StateError("wrong_state", f"a {current} request cannot become {wanted}")
    return to
