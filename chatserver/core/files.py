"""Which files a chat accepts, decided by their content, and how their names are kept.

Pure: the caller hands in the first bytes of the file (and whether it decodes as
text); nothing here reads a disk.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

import filetype

from ..exceptions import ClientError, LimitError

__all__ = [
    "DEFAULT_TYPES",
    "IMAGE_TYPES",
    "SNIFF_BYTES",
    "check_count",
    "check_size",
    "classify",
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


def safe_name(name: str | None, content_type: str) -> str:
    """A file name to show and offer for download: no paths, no control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", unicodedata.normalize("NFC", base)).strip(" .")
    if not base:
        base = "file" + {
            "image/jpeg": ".jpg",
            "image/png": ".png",
            "image/gif": ".gif",
            "image/webp": ".webp",
            "application/pdf": ".pdf",
            "text/plain": ".txt",
        }.get(content_type, "")
    if len(base) > _NAME_MAX:
        stem, dot, ext = base.rpartition(".")
        base = (
            (stem[: _NAME_MAX - len(ext) - 1] + dot + ext)
            if dot and len(ext) <= 10
            else base[:_NAME_MAX]
        )
    return base
