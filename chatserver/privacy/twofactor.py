"""Two-factor sign-in: TOTP (RFC 6238, 30-second steps, 6 digits) with pyotp, its QR code
drawn by segno as an inline SVG (no request leaves the page), and one-time recovery codes.

Pure but for the random secrets it makes: the store keeps the secret, the last step
accepted (a code signs in once) and the recovery codes' hashes.
"""

from __future__ import annotations

import hashlib
import secrets

import pyotp
import segno

__all__ = [
    "RECOVERY_CODES",
    "matching_step",
    "new_recovery_codes",
    "new_secret",
    "provisioning_uri",
    "qr_data_uri",
    "recovery_hash",
]

RECOVERY_CODES = 10
STEP = 30
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # nothing to mistake for another


def new_secret() -> str:
    """160 random bits in base32, as authenticator apps expect."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as a QR code in a ``data:image/svg+xml`` URI for an ``<img>``."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def matching_step(secret: str, code: str, now: float, *, window: int = 1) -> int | None:
    """The time step whose code ``code`` is (this step, or ``window`` steps either side for
    clocks that drift), or None. Compared in constant time."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = int(now // STEP)
    found = None
    for s in range(step - window, step + window + 1):
        if secrets.compare_digest(totp.at(s * STEP), code):
            found = s
    return found


def new_recovery_codes(n: int = RECOVERY_CODES) -> list[str]:
    """Codes like ``k7m2-x9qp-4tfa`` (60 random bits each), to be shown once."""
    out = []
    for _ in range(n):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        out.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return out


def recovery_hash(code: str) -> bytes:
    """What the store keeps of a recovery code (its SHA-256; the code has 60 random bits)."""
    normal = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(normal.encode()).digest()
