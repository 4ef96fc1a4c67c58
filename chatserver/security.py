"""Secrets: password hashing (argon2id), random tokens and their stored hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "hash_password",
    "new_id",
    "new_ordered_id",
    "new_token",
    "safe_url",
    "same_secret",
    "token_hash",
    "verify_password",
]

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash (memory-hard, salted) for storage."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True if ``password`` matches; argon2 compares in constant time."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token(prefix: str) -> str:
    """A bearer secret with 256 random bits, e.g. ``cst_...`` for API tokens."""
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    """What we store for a bearer token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode()).digest()


def same_secret(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(
        a.encode() if isinstance(a, str) else a, b.encode() if isinstance(b, str) else b
    )


def new_id(prefix: str) -> str:
    """A random public id (72 bits), e.g. ``c_...`` for chats."""
    return prefix + secrets.token_urlsafe(9)


def new_ordered_id(prefix: str) -> str:
    """A public id that sorts by creation time: the clock in milliseconds (12 hex digits)
    then 72 random bits, e.g. ``c_019ad5c2e4f0...`` for chats.

    Rows keyed by such ids are appended at the right edge of their indexes, so the
    rows one commit stores share a few pages instead of each dirtying a page of its
    own somewhere in the tree (bench/HISTORY.md, "Where the time goes")."""
    return f"{prefix}{time.time_ns() // 1_000_000:012x}{secrets.token_urlsafe(9)}"


def safe_url(url: str) -> str:
    """A service's address (database, Redis) without its password, for messages and logs."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    return f"{scheme}://{creds.split(':', 1)[0]}@{host}"
