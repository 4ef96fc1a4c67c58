"""A player asks for their last chat's transcript by e-mail.

It goes only to the address of that chat's pre-chat form, at most
``transcript_emails_per_chat`` times per chat and ``emails_per_recipient_per_day``
times per recipient: every attempt counts before anything awaits, failed ones too, so
neither a flood of requests nor a mail server's refusals turn the server into a relay.
The e-mail is rendered and built on the mail pool, not on the event loop.
"""

from __future__ import annotations

import logging

from ..core.requests import parse_request_number
from ..exceptions import ClientError, LimitError, StateError
from ..mail import MailError
from .hub import Hub
from .state import PlayerSession

__all__ = ["email_transcript"]

log = logging.getLogger("chatserver.hub")


async def email_transcript(hub: Hub, session: PlayerSession) -> str:
    """Send the player the transcript of their last chat; returns the address."""
    ended = session.ended
    if ended is None:
        raise StateError("wrong_state", "there is no ended chat to send")
    if hub.notifier is None or not hub.settings.smtp_host:
        raise ClientError("email_unavailable", "this server does not send e-mail")
    if session.emails_sent >= hub.settings.transcript_emails_per_chat:
        raise LimitError("email_limit", "the transcript of this chat was already sent")
    session.emails_sent += 1  # counted before the first await: sockets at once count each
    rec = await hub.store.request(parse_request_number(ended.request_number))
    if rec is None or not rec.chat.email:
        raise ClientError("email_required", "this chat has no e-mail address", field="email")
    recipient = rec.chat.email.casefold()
    if hub.mail_recipients.take(recipient):
        raise LimitError("email_limit", "this address has had enough e-mails from us today")
    lang = "tr" if (rec.chat.locale or session.locale or "").startswith("tr") else "en"
    try:
        await hub.notifier.transcript(rec, lang)
    except MailError as exc:
        log.warning("transcript e-mail for %s failed: %s", ended.request_number, exc)
        raise ClientError("email_failed", "the e-mail could not be sent; try again later") from exc
    return rec.chat.email
