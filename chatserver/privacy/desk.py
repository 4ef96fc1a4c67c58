"""The privacy desk: what the console, the REST API and the command line do for a
data-subject request, each step recorded in the audit trail. The audit entries name request
numbers and counts, never the person: an erased subject leaves no trace in the trail either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..core.requests import format_request_number
from ..files import FileStore, delete_files
from ..security import new_token, token_hash
from ..store import Store
from ..store.privacy import Erased, Subject
from .audit import AuditEntry, detail_text
from .subjects import Found, archive, erase, find

__all__ = ["LINK_DAYS", "PrivacyDesk"]

T = TypeVar("T")
LINK_DAYS = 7
Runner = Callable[..., Awaitable[Any]]


class PrivacyDesk:
    """``run`` runs blocking work (building archives, deleting files) off the event loop:
    a bounded pool in the server, a thread in the command line."""

    def __init__(
        self,
        store: Store,
        files: FileStore | None,
        *,
        run: Runner = asyncio.to_thread,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.files = files
        self.run = run
        self.clock = clock

    async def _audit(
        self, actor: str, action: str, ip: str | None, detail: dict[str, Any], target: str = ""
    ) -> None:
        entry = AuditEntry(self.clock(), actor, action, target or None, detail_text(detail), ip)
        await self.store.audit_append([entry])

    async def find(self, subject: Subject, *, actor: str, ip: str | None = None) -> Found:
        found = await find(self.store, subject)
        await self._audit(actor, "subject.search", ip, {"requests": len(found.requests)})
        return found

    async def export(
        self, subject: Subject, *, actor: str, ip: str | None = None
    ) -> tuple[Found, bytes]:
        found = await find(self.store, subject)
        read = self.files.read if self.files is not None else _no_files
        data: bytes = await self.run(archive, found, read, self.clock())
        numbers = [format_request_number(r.number) for r in found.requests]
        await self._audit(actor, "subject.export", ip, {"requests": numbers, "bytes": len(data)})
        return found, data

    async def erase(
        self, subject: Subject, reason: str, *, actor: str, ip: str | None = None
    ) -> tuple[Found, Erased]:
        found = await find(self.store, subject)
        erased = await erase(self.store, found, self.clock())
        if self.files is not None and erased.file_keys:
            await self.run(delete_files, self.files, erased.file_keys)
        await self.store.scrub()
        numbers = [format_request_number(r.number) for r in found.requests]
        detail = {"requests": numbers, "removed": erased.counts(), "reason": reason}
        await self._audit(actor, "subject.erase", ip, detail)
        return found, erased

    async def link(
        self, subject: Subject, *, actor: str, ip: str | None = None, days: float = LINK_DAYS
    ) -> tuple[str, float]:
        """A secret for ``/privacy/export/<secret>``: the subject's archive until it expires."""
        secret = new_token("")
        now = self.clock()
        expires = now + days * 86400
        await self.store.add_privacy_link(
            token_hash(secret), subject, now=now, expires_at=expires, by=actor
        )
        await self._audit(actor, "subject.link", ip, {"expires_at": round(expires)})
        return secret, expires


def _no_files(key: str) -> bytes:
    raise FileNotFoundError(key)
