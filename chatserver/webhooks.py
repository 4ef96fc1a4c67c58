"""Webhooks to the platform's ticket system: what is sent, how it is signed, how it is retried.

Deliveries are rows in the store's outbox, written in the same transaction as the
change they report, so a restart never loses one. The dispatcher posts every due
delivery; a 2xx answer delivers it, anything else is retried with exponential
backoff (and jitter) until ``webhook_max_attempts``, then it is marked failed.
Admins see the outbox in the console and can send a delivery again.

Each POST carries:

- ``X-Chatserver-Event``: ``chat.ended`` or ``request.updated``
- ``X-Chatserver-Delivery``: an id that stays the same across retries (de-duplicate on it)
- ``X-Chatserver-Signature``: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
  with the shared ``webhook_secret``
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from .config import Settings
from .core.conversation import Conversation, FileInfo
from .core.requests import format_request_number
from .exceptions import StoreError
from .protocol import file_dict
from .store import Delivery, Store

__all__ = ["Dispatcher", "backoff", "chat_ended_body", "request_updated_body", "sign"]

log = logging.getLogger("chatserver.webhooks")

_BATCH = 20
_MAX_DELAY = 3600.0


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The value of ``X-Chatserver-Signature`` for this body at this time."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def backoff(attempt: int, base: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before retry ``attempt`` (1, 2, ...): doubling, capped at an hour, ±20%."""
    delay = min(_MAX_DELAY, base * 2 ** (attempt - 1))
    return float(delay * (0.8 + 0.4 * rand()))


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def _links(base_url: str, number: str) -> dict[str, str]:
    shown = format_request_number(number)
    return {
        "request": f"{base_url}/api/requests/{shown}",
        "transcript_json": f"{base_url}/api/requests/{shown}/transcript?format=json",
        "transcript_text": f"{base_url}/api/requests/{shown}/transcript?format=txt",
        "transcript_html": f"{base_url}/api/requests/{shown}/transcript?format=html",
    }


def chat_ended_body(
    conv: Conversation,
    number: str,
    base_url: str,
    files: Sequence[FileInfo],
    resolution: str | None,
) -> dict[str, Any]:
    """What the ticket system learns when a chat ends (links need an API token)."""
    p = conv.player
    wait = (conv.assigned_at or conv.ended_at or conv.created_at) - conv.created_at
    return {
        "request": {
            "number": format_request_number(number),
            "status": "open",
            "resolution": resolution,
            "links": _links(base_url, number),
        },
        "player": {
            "name": p.name,
            "username": p.username,
            "email": p.email,
            "member_id": p.member_id,
            "verified_by": p.verified_by,
            "locale": p.locale,
        },
        "chat": {
            "id": conv.id,
            "topic": p.topic,
            "department": conv.department,
            "priority": conv.priority,
            "ended_by": conv.ended_by,
            "messages": conv.last_seq,
        },
        "agent": None if conv.agent_id is None else {"id": conv.agent_id, "name": conv.agent_name},
        "timings": {
            "created_at": _iso(conv.created_at),
            "assigned_at": _iso(conv.assigned_at),
            "first_response_at": _iso(conv.first_response_at),
            "ended_at": _iso(conv.ended_at),
            "wait_seconds": round(wait, 3),
            "first_response_seconds": None
            if conv.first_response_at is None or conv.assigned_at is None
            else round(conv.first_response_at - conv.assigned_at, 3),
            "handle_seconds": None
            if conv.assigned_at is None or conv.ended_at is None
            else round(conv.ended_at - conv.assigned_at, 3),
        },
        "satisfaction": None,
        "attachments": [{**file_dict(f), "url": f"{base_url}/api/files/{f.id}"} for f in files],
    }


def request_created_body(
    number: str,
    base_url: str,
    conv: Conversation,
    status: str,
    priority: int,
    due: float | None,
) -> dict[str, Any]:
    """A new request (its chat's ``chat.ended`` carries the conversation itself)."""
    return {
        "request": {
            "number": format_request_number(number),
            "status": status,
            "priority": priority,
            "resolution_due": _iso(due),
            "links": _links(base_url, number),
        },
        "chat": {"id": conv.id, "topic": conv.player.topic, "department": conv.department},
        "at": _iso(time.time()),
    }


def request_updated_body(
    number: str,
    base_url: str,
    *,
    status: str | None = None,
    changed_by: str | None = None,
    note: str | None = None,
    satisfaction: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the ticket system learns when a request's status or rating changes."""
    out: dict[str, Any] = {
        "request": {"number": format_request_number(number), "links": _links(base_url, number)},
        "at": _iso(time.time()),
    }
    if status is not None:
        out["request"]["status"] = status
        out["changed_by"] = changed_by
        out["note"] = note
    if satisfaction is not None:
        out["satisfaction"] = satisfaction
    return out


class Dispatcher:
    """Posts due deliveries from the outbox; sleeps until the next one is due or it is poked."""

    def __init__(
        self, store: Store, settings: Settings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # outcomes since start, for metrics and for whoever waits on them
        self.delivered = 0
        self.retried = 0
        self.failed = 0
        self._changed = asyncio.Condition()
        self._client = httpx.AsyncClient(
            timeout=settings.webhook_timeout_seconds, follow_redirects=False
        )

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhooks")

    def poke(self) -> None:
        """Something was queued: look now instead of at the next due time."""
        self._wake.set()

    async def wait_until(self, done: Callable[[Dispatcher], bool]) -> None:
        """Wait until ``done(self)`` holds (say, ``lambda d: d.failed >= 1``)."""
        async with self._changed:
            await self._changed.wait_for(lambda: done(self))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                due = await self.store.due_deliveries(self.clock(), _BATCH)
                await asyncio.gather(*(self._deliver(d) for d in due))
                if due:
                    continue
                nxt = await self.store.next_delivery_at()
            except StoreError as exc:
                log.warning("webhook outbox unavailable: %s", exc)
                nxt = self.clock() + self.settings.webhook_retry_base_seconds
            timeout = None if nxt is None else max(0.0, nxt - self.clock())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    async def _deliver(self, d: Delivery) -> None:
        s = self.settings
        body = d.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "chatserver-webhooks",
            "X-Chatserver-Event": d.event,
            "X-Chatserver-Delivery": d.id,
            "X-Chatserver-Signature": sign(s.webhook_secret, int(self.clock()), body),
        }
        error: str | None = None
        try:
            r = await self._client.post(d.url, content=body, headers=headers)
            if not 200 <= r.status_code < 300:
                error = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        attempts = d.attempts + 1
        retry_at = None
        if error is not None:
            if attempts < s.webhook_max_attempts:
                retry_at = self.clock() + backoff(attempts, s.webhook_retry_base_seconds)
            log.warning("webhook %s to %s failed (attempt %d): %s", d.id, d.url, attempts, error)
        await self.store.delivery_result(d.id, now=self.clock(), error=error, retry_at=retry_at)
        async with self._changed:
            if error is None:
                self.delivered += 1
            elif retry_at is not None:
                self.retried += 1
            else:
                self.failed += 1
            self._changed.notify_all()
