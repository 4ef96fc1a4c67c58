"""Attachments encrypted at rest: AES-256-GCM, one random nonce per file.

A kept file is ``CSF1`` + the key's id (8 bytes: the start of its SHA-256) + a 12-byte nonce
+ the ciphertext and its 16-byte tag. The header and the file's storage key are authenticated
too, so a file cannot be altered, nor moved under another file's name, without decryption
failing. The key is the current one (``files_key``); files under an older key
(``files_old_keys``) are still read, and ``chatserver files rekey`` moves them to the current
one. A file without the header (kept before encryption was on) is read as it is until rekeyed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..exceptions import ConfigError, StoreError

__all__ = ["MAGIC", "FileCipher", "load_key_file", "parse_key"]

MAGIC = b"CSF1"
_ID = 8
_NONCE = 12
HEADER = len(MAGIC) + _ID + _NONCE


def parse_key(text: str, name: str = "files_key") -> bytes:
    """A 256-bit key written as 64 hex digits or in base64."""
    text = text.strip()
    try:
        raw = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(f"{name} must be 32 random bytes, as 64 hex digits or base64")
    return raw


def load_key_file(path: Path) -> bytes:
    """The key kept in ``path``, made (random, readable by this user only) the first time."""
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(os.urandom(32).hex() + "\n")
        return parse_key(path.read_text(), str(path))
    except FileExistsError:  # another process made it first
        return parse_key(path.read_text(), str(path))
    except OSError as exc:
        raise ConfigError(f"cannot use the files key {path}: {exc.strerror}") from exc


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:_ID]


class FileCipher:
    """Encrypts with the current key; decrypts with it or any older one."""

    def __init__(self, key: bytes, old_keys: Iterable[bytes] = ()) -> None:
        self.current = _key_id(key)
        self._keys = {_key_id(k): AESGCM(k) for k in (*old_keys, key)}

    def encrypt(self, data: bytes, name: str) -> bytes:
        nonce = os.urandom(_NONCE)
        head = MAGIC + self.current + nonce
        return head + self._keys[self.current].encrypt(nonce, data, head + name.encode())

    def decrypt(self, blob: bytes, name: str) -> bytes:
        if not blob.startswith(MAGIC):
            return blob  # kept before encryption was on
        head, key_id, nonce = blob[:HEADER], blob[4 : 4 + _ID], blob[4 + _ID : HEADER]
        aes = self._keys.get(key_id)
        if aes is None:
            raise StoreError(f"file {name} is under a key that is not configured")
        try:
            return aes.decrypt(nonce, blob[HEADER:], head + name.encode())
        except InvalidTag:
            raise StoreError(f"file {name} is damaged or was altered") from None

    def is_current(self, blob: bytes) -> bool:
        return blob.startswith(MAGIC) and blob[4 : 4 + _ID] == self.current
