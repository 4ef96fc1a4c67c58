"""Sending e-mail: the ``Mailer`` interface, SMTP through aiosmtplib, and the ``Notifier``.

The notifier is what the rest of the server calls ("the request changed status",
"send me the transcript"); e-mail is its channel today, SMS or others can be added
beside it.
"""

from __future__ import annotations

import dataclasses
import logging
from email.message import EmailMessage
from html import escape
from typing import Protocol

import aiosmtplib

from . import transcripts
from .config import Settings
from .core.conversation import Message
from .core.requests import format_request_number
from .exceptions import ChatServerError
from .pools import BoundedPool
from .store import RequestRecord

__all__ = [
    "EmailNotifier",
    "MailError",
    "Mailer",
    "Notifier",
    "SmtpMailer",
    "compose",
    "make_notifier",
    "transcript_mail",
]

log = logging.getLogger("chatserver.mail")


class MailError(ChatServerError):
    """The mail could not be sent (not configured, refused, or no answer)."""


class Mailer(Protocol):
    async def send(self, to: str, subject: str, text: str, html: str | None = None) -> None: ...

    async def send_raw(self, to: str, raw: bytes) -> None:
        """Send a message already built with ``compose`` (off the event loop)."""
        ...


def compose(sender: str, to: str, subject: str, text: str, html: str | None = None) -> bytes:
    """The message as bytes, ready for SMTP. CPU work in proportion to its size: a
    large one is built on the mail pool, not on the event loop."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, to: str, subject: str, text: str, html: str | None = None) -> None:
        await self.send_raw(to, compose(self.settings.smtp_from, to, subject, text, html))

    async def send_raw(self, to: str, raw: bytes) -> None:
        s = self.settings
        if not s.smtp_host:
            raise MailError("e-mail is not set up on this server")
        try:
            await aiosmtplib.send(
                raw,
                sender=s.smtp_from,
                recipients=[to],
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


class Notifier(Protocol):
    async def transcript(self, rec: RequestRecord, lang: str) -> None:
        """E-mail a request's transcript to its pre-chat address; raises MailError."""
        ...

    async def message(self, to: str, subject: str, text: str) -> None:
        """A plain e-mail (a link for the player, say); raises MailError."""
        ...


class EmailNotifier:
    """Tells players by e-mail (status changes go through the desk's outbox instead,
    chatserver.desk). A transcript is rendered and built on ``pool`` (a bounded pool:
    ``Busy`` when full), at most ``max_transcript_bytes`` of it."""

    def __init__(self, mailer: Mailer, settings: Settings, pool: BoundedPool) -> None:
        self.mailer = mailer
        self.settings = settings
        self.pool = pool

    async def message(self, to: str, subject: str, text: str) -> None:
        if not self.settings.smtp_host:
            raise MailError("e-mail is not set up")
        await self.mailer.send(to, subject, text)

    async def transcript(self, rec: RequestRecord, lang: str) -> None:
        to = rec.chat.email
        if not to:
            raise MailError("the request has no e-mail address")
        s = self.settings
        raw = await self.pool.run(
            transcript_mail, rec, lang, s.smtp_from, s.base_url, s.max_transcript_email_bytes
        )
        await self.mailer.send_raw(to, raw)


def transcript_mail(
    rec: RequestRecord, lang: str, sender: str, base_url: str, max_bytes: int
) -> bytes:
    """The transcript e-mail, text and HTML, within ``max_bytes``: when the chat is longer,
    its latest messages that fit are sent, with a line saying how many came before."""
    number = format_request_number(rec.number)
    if lang == "tr":
        subject = f"Görüşme kaydınız, talep {number}"
        omitted = "({n} önceki mesaj bu e-postaya sığmadı.)"
    else:
        subject = f"Your chat transcript, request {number}"
        omitted = "({n} earlier messages did not fit in this e-mail.)"
    # text and HTML each carry the messages once, and a character can take up to 12
    # bytes once encoded: start from an eighth of the limit in characters, and halve
    # that until the built message fits
    budget = max_bytes // 8
    while True:
        raw = _transcript_within(rec, budget, omitted, sender, subject, base_url)
        if len(raw) <= max_bytes or budget < 256:
            return raw
        budget //= 2


def _transcript_within(
    rec: RequestRecord, budget: int, omitted: str, sender: str, subject: str, base_url: str
) -> bytes:
    """The transcript with the latest messages whose text fits in ``budget`` characters."""
    kept: list[Message] = []
    for msg in reversed(rec.messages):
        budget -= len(msg.text) + 64
        if budget < 0:
            break
        kept.append(msg)
    kept.reverse()
    dropped = len(rec.messages) - len(kept)
    if dropped:
        rec = dataclasses.replace(rec, messages=kept, notes=[])
    text = transcripts.as_text(rec, internal=False)
    html = transcripts.as_html(rec, internal=False, base_url=base_url)
    if dropped:
        note = omitted.format(n=dropped)
        text = f"{note}\n\n{text}"
        html = html.replace("<body>", f"<body><p>{escape(note)}</p>", 1)
    return compose(sender, rec.chat.email or "", subject, text, html)


def make_notifier(settings: Settings, pool: BoundedPool) -> EmailNotifier:
    return EmailNotifier(SmtpMailer(settings), settings, pool)
