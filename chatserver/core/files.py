"""Which files a chat accepts, decided by their content, and how their names are kept.

Pure: the caller hands in the first bytes of the file (and whether it decodes as
text); nothing here reads a disk.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from urllib.parse import quote

import filetype

from ..exceptions import ClientError, LimitError

__all__ = [
    "DEFAULT_TYPES",
    "IMAGE_TYPES",
    "SNIFF_BYTES",
    "check_count",
    "check_size",
    "classify",
    "content_disposition",
    "looks_like_text",
    "safe_name",
]

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
DEFAULT_TYPES = (*sorted(IMAGE_TYPES), "application/pdf", "text/plain")
SNIFF_BYTES = 8192
_NAME_MAX = 120
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def looks_like_text(head: bytes) -> bool:
    """UTF-8 without NUL bytes, mostly printable: plain text."""
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            return False
        text = head[: exc.start].decode("utf-8")
    if not text:
        return False
    odd = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    return odd / len(text) < 0.01


def classify(head: bytes, allowed: Collection[str]) -> str:
    """The content type of a file from its first bytes, if the chat accepts it.

    The name and the type the browser declared are ignored: a renamed executable is
    an executable.
    """
    kind = filetype.guess(head)
    if kind is not None:
        content_type = str(kind.mime)
    elif looks_like_text(head):
        content_type = "text/plain"
    else:
        content_type = "application/octet-stream"
    if content_type not in allowed:
        shown = "this kind of file" if content_type == "application/octet-stream" else content_type
        raise ClientError(
            "file_type_not_allowed",
            f"{shown} cannot be sent here; send images, PDF documents or plain text",
            field="file",
            status=415,
        )
    return content_type


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise LimitError(
            "file_too_large",
            f"a file can be at most {limit // (1024 * 1024)} MiB",
            field="file",
            status=413,
        )
    if size == 0:
        raise ClientError("file_empty", "the file is empty", field="file")


def check_count(count: int, limit: int) -> None:
    if count >= limit:
        raise LimitError(
            "too_many_files", f"a chat can have at most {limit} files", field="file", status=409
        )


_EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
    "text/plain": (".txt",),
}


def _visible(name: str) -> str:
    """Without control characters and invisible format characters (bidi overrides such
    as U+202E, which make ``bank\u202efdp.hta`` show as ``bankath.pdf``; zero widths)."""
    return "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))


def safe_name(name: str | None, content_type: str) -> str:
    """A file name to show and offer for download: no paths, no control or bidi
    characters, and an extension that matches what the content is (``receipt.hta``
    that is plain text is kept as ``receipt.hta.txt``)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", _visible(unicodedata.normalize("NFC", base))).strip(" .")
    extensions = _EXTENSIONS.get(content_type, ("",))
    stem, dot, ext = base.rpartition(".")
    if not (dot and stem and f".{ext.lower()}" in extensions):
        stem, ext = base or "file", extensions[0].lstrip(".")
    room = _NAME_MAX - len(ext) - 1
    return f"{stem[:room]}.{ext}" if ext else stem[:_NAME_MAX]


def content_disposition(kind: str, name: str) -> str:
    """``attachment; filename="..."; filename*=UTF-8''...`` (RFC 6266): an ASCII
    fallback for old clients and the exact name for the others."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%' else "_" for ch in name)
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
