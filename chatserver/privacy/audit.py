"""The audit trail's chain: each entry's hash covers its fields and the hash before it, so
changing, removing or reordering an entry breaks every hash after it.

Pure: the store appends (``store/privacy.py``) and ``chatserver audit verify`` walks it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["GENESIS", "AuditEntry", "Break", "Chain", "detail_text", "entry_hash"]

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One thing someone did: who (``actor``), what (``action``), to what (``target``)."""

    at: float
    actor: str
    action: str
    target: str | None = None
    detail: str | None = None  # a JSON object, as stored
    ip: str | None = None
    seq: int = 0  # given when it is appended
    prev_hash: str = ""
    hash: str = ""

    def public(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "detail": json.loads(self.detail) if self.detail else None,
            "ip": self.ip,
            "hash": self.hash,
        }


def detail_text(detail: Mapping[str, Any] | None) -> str | None:
    """A detail as the trail stores it: compact JSON with sorted keys."""
    if not detail:
        return None
    return json.dumps(dict(detail), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_hash(prev_hash: str, seq: int, e: AuditEntry) -> str:
    """SHA-256 over the previous hash and every field of the entry (times to the microsecond)."""
    fields = [prev_hash, seq, f"{e.at:.6f}", e.actor, e.action, e.target, e.detail, e.ip]
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Break:
    seq: int
    reason: str


class Chain:
    """Walks the kept entries in order and notes every break.

    ``first_seq``/``first_prev``: where the kept part starts (retention removes the oldest
    entries and records there the hash they ended with); ``head_seq``/``head_hash``: the last
    entry the store appended, so removing entries at the end is seen too."""

    def __init__(self, first_seq: int, first_prev: str) -> None:
        self.expect_seq = first_seq
        self.prev = first_prev
        self.checked = 0
        self.breaks: list[Break] = []

    def feed(self, entries: Iterable[AuditEntry]) -> None:
        for e in entries:
            if e.seq != self.expect_seq:
                missing = f"expected entry {self.expect_seq}: entries are missing"
                self.breaks.append(Break(e.seq, missing))
            if e.prev_hash != self.prev:
                self.breaks.append(Break(e.seq, "it does not follow the entry before it"))
            if entry_hash(e.prev_hash, e.seq, e) != e.hash:
                self.breaks.append(Break(e.seq, "its fields do not match its hash: it was changed"))
            self.prev = e.hash
            self.expect_seq = e.seq + 1
            self.checked += 1

    def finish(self, head_seq: int, head_hash: str) -> list[Break]:
        if head_seq != self.expect_seq - 1 or head_hash != self.prev:
            ends = f"the trail ends at {self.expect_seq - 1}, its head says {head_seq}"
            self.breaks.append(Break(head_seq, ends))
        return self.breaks
