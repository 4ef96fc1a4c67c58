"""The notifications' outbox: each is sent (e-mail through SMTP, SMS through the gateway),
retried with growing delays like webhooks (``webhook_max_attempts``,
``webhook_retry_base_seconds``), and recorded in its request's history once sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from ..config import Settings
from ..exceptions import StoreError
from ..mail import Mailer, MailError, SmtpMailer
from ..store import Store
from ..store.transitions import Notification
from ..webhooks import backoff
from .sms import SmsError, SmsGateway

__all__ = ["NotificationDispatcher", "notifications_for"]

log = logging.getLogger("chatserver.notifications")
_BATCH = 20


class NotificationDispatcher:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        mailer: Mailer | None,
        sms: SmsGateway | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.mailer = mailer
        self.sms = sms
        self.clock = clock
        self.sent = 0
        self.failed = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    async def wait_until(self, done: Callable[[NotificationDispatcher], bool]) -> None:
        """Wait until ``done(self)`` holds (say, ``lambda d: d.sent >= 2``)."""
        async with self._changed:
            await self._changed.wait_for(lambda: done(self))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="notifications")

    def poke(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.sms is not None:
            await self.sms.close()

    async def _run(self) -> None:
        while True:
            try:
                due = await self.store.due_notifications(self.clock(), _BATCH)
                outcomes = await asyncio.gather(
                    *(self._send(n) for n in due), return_exceptions=True
                )
                for n, outcome in zip(due, outcomes, strict=True):
                    if isinstance(outcome, Exception):  # a bug: the others still go
                        log.error("notification %s: %r", n.id, outcome)
                if due:
                    continue
                nxt = await self.store.next_notification_at()
            except StoreError as exc:
                log.warning("notification outbox unavailable: %s", exc)
                nxt = self.clock() + self.settings.webhook_retry_base_seconds
            timeout = None if nxt is None else max(0.0, nxt - self.clock())
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()

    async def _send(self, n: Notification) -> None:
        error: str | None = None
        try:
            if n.channel == "email":
                if self.mailer is None:
                    raise MailError("e-mail is not set up")
                await self.mailer.send(n.recipient, n.subject, n.body)
            else:
                if self.sms is None:
                    raise SmsError("SMS is not set up")
                await self.sms.send(n.recipient, n.body)
        except (MailError, SmsError) as exc:
            error = str(exc) or type(exc).__name__
        except Exception as exc:  # a bug: retried like a refusal, never a hot loop
            log.exception("notification %s could not be sent", n.id)
            error = f"unexpected: {exc!r}"
        s = self.settings
        retry_at = None
        if error is not None:
            if n.attempts + 1 < s.webhook_max_attempts:
                retry_at = self.clock() + backoff(n.attempts + 1, s.webhook_retry_base_seconds)
            log.warning("%s to %s for %s failed: %s", n.channel, n.recipient, n.number, error)
        try:
            await self.store.notification_result(
                n, now=self.clock(), error=error, retry_at=retry_at
            )
        except StoreError as exc:  # it stays pending and goes again
            log.warning("could not record notification %s: %s", n.id, exc)
            return
        async with self._changed:
            if error is None:
                self.sent += 1
            elif retry_at is None:
                self.failed += 1
            self._changed.notify_all()


def notifications_for(settings: Settings, store: Store) -> NotificationDispatcher:
    """The outbox's sender with what is set up: SMTP for e-mail, the gateway for SMS."""
    mailer = SmtpMailer(settings) if settings.smtp_host else None
    sms = (
        SmsGateway(
            settings.sms_url,
            auth_header=settings.sms_auth_header,
            template=settings.sms_template,
            content_type=settings.sms_content_type,
        )
        if settings.sms_url
        else None
    )
    return NotificationDispatcher(store, settings, mailer=mailer, sms=sms)
