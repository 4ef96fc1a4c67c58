"""Sending e-mail: the ``Mailer`` interface, SMTP through aiosmtplib, and the ``Notifier``.

The notifier is what the rest of the server calls ("the request changed status",
"send me the transcript"); e-mail is its channel today, SMS or others can be added
beside it.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from .config import Settings
from .core.requests import format_request_number
from .exceptions import ChatServerError
from .store import RequestRecord

__all__ = ["EmailNotifier", "MailError", "Mailer", "Notifier", "SmtpMailer", "make_notifier"]

log = logging.getLogger("chatserver.mail")


class MailError(ChatServerError):
    """The mail could not be sent (not configured, refused, or no answer)."""


class Mailer(Protocol):
    async def send(self, to: str, subject: str, text: str, html: str | None = None) -> None: ...


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, to: str, subject: str, text: str, html: str | None = None) -> None:
        s = self.settings
        if not s.smtp_host:
            raise MailError("e-mail is not set up on this server")
        msg = EmailMessage()
        msg["From"] = s.smtp_from
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
        try:
            await aiosmtplib.send(
                msg,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_user or None,
                password=s.smtp_password or None,
                use_tls=s.smtp_security == "tls",
                start_tls=True if s.smtp_security == "starttls" else False,
                timeout=s.smtp_timeout_seconds,
            )
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise MailError(f"the mail server did not take the message: {exc}") from exc


_STATUS_TEXT = {
    "en": {
        "open": "is open again and being worked on",
        "pending": "is waiting for more information",
        "resolved": "has been resolved",
        "closed": "has been closed",
    },
    "tr": {
        "open": "yeniden açıldı ve ilgileniliyor",
        "pending": "ek bilgi bekliyor",
        "resolved": "çözüldü",
        "closed": "kapatıldı",
    },
}


class Notifier(Protocol):
    async def request_status_changed(self, rec: RequestRecord, note: str | None) -> None: ...

    async def transcript(self, to: str, subject: str, text: str, html: str) -> None: ...


class EmailNotifier:
    """Tells players by e-mail; failures are logged, never raised into the caller's path."""

    def __init__(self, mailer: Mailer, settings: Settings) -> None:
        self.mailer = mailer
        self.settings = settings

    async def request_status_changed(self, rec: RequestRecord, note: str | None) -> None:
        to = rec.chat.email
        if not to or not self.settings.smtp_host:
            return
        lang = "tr" if (rec.chat.locale or "").startswith("tr") else "en"
        number = format_request_number(rec.number)
        status = _STATUS_TEXT[lang].get(rec.status, rec.status)
        if lang == "tr":
            subject = f"Talebiniz {number}: {status}"
            body = f"Merhaba,\n\n{number} numaralı talebiniz {status}.\n"
            if note:
                body += f"\nNot: {note}\n"
            body += f"\nTalebinizi takip etmek için: {self.settings.base_url}/requests/lookup\n"
        else:
            subject = f"Your request {number} {status}"
            body = f"Hello,\n\nyour request {number} {status}.\n"
            if note:
                body += f"\nNote: {note}\n"
            body += f"\nFollow your request at {self.settings.base_url}/requests/lookup\n"
        try:
            await self.mailer.send(to, subject, body)
        except MailError as exc:
            log.warning("could not e-mail %s about request %s: %s", to, number, exc)

    async def transcript(self, to: str, subject: str, text: str, html: str) -> None:
        await self.mailer.send(to, subject, text, html)


def make_notifier(settings: Settings) -> EmailNotifier:
    return EmailNotifier(SmtpMailer(settings), settings)
