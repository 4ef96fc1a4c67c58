"""The request desk: every change of a request goes through here, so each one follows the
lifecycle (``core.lifecycle``), is recorded, reaches the ticket system (webhooks) and tells
the player (e-mail and SMS through the durable outbox) in one transaction."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from ..config import Settings
from ..core.lifecycle import Event, Status, parse_status
from ..core.qa import reasons as qa_reasons
from ..core.requests import format_request_number, parse_request_number
from ..core.sla import TARGETS
from ..core.topics import RoutingConfig, Topic
from ..exceptions import NotFoundError, StateError
from ..security import new_token, token_hash
from ..store import AttachmentRecord, EnqueueWebhooks, RequestRecord, Store
from ..store.lifecycle import EVENT_FOR
from ..store.outbox import (
    ATTACHMENT_INSERT,
    FOLLOWUP_INSERT,
    LINK_INSERT,
    NOTIFY_INSERT,
    WEBHOOK_INSERT,
    attachment_row,
    webhook_rows,
)
from ..store.transitions import Transition
from ..webhooks import request_updated_body
from .messages import Composer, lang_of
from .targets import REPLY_CLEAR, ServiceLevels

__all__ = ["RequestDesk"]

Rows = list[tuple[str, list[tuple[Any, ...]]]]

# the webhook event of a change (any other change is request.updated)
_EVENTS = {
    Status.ESCALATED.value: "request.escalated",
    Status.AWAITING_CONFIRMATION.value: "request.awaiting_confirmation",
}


# statuses in which the team owes the player an answer
_OWED = (Status.OPEN.value, Status.ESCALATED.value)


class RequestDesk(ServiceLevels):
    def __init__(
        self,
        store: Store,
        settings: Settings,
        routing: RoutingConfig,
        *,
        clock: Callable[[], float],
        poke: Callable[[], None] = lambda: None,
        changed: Callable[[str], None] = lambda number: None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.routing = routing
        self.topics: Mapping[str, Topic] = routing.topics
        self.clock = clock
        self.poke = poke  # the outboxes: something was queued
        self.changed = changed  # a request changed (players looking at it are told)
        self.composer = Composer(settings.notification_templates_dir)
        # targets missed since start, for /metrics (desk.targets)
        self.breaches = dict.fromkeys(TARGETS, 0)

    def confirm_close(self, topic: str) -> bool:
        t = self.topics.get(topic)
        return t is not None and t.confirm_close

    # -- what a change writes besides itself ------------------------------------------------

    def notifications(
        self,
        number: str,
        kind: str,
        status: str,
        *,
        email: str | None,
        phone: str | None,
        locale: str | None,
        note: str | None = None,
        answer: str | None = None,
    ) -> Rows:
        """The outbox rows telling the player: an e-mail if they gave an address and e-mail
        is set up, an SMS if they gave a phone and the gateway is set up."""
        s = self.settings
        shown = format_request_number(number)
        if not ((email and s.smtp_host) or (phone and s.sms_url)):
            return []
        now = self.clock()
        follow, link_hash = self.follow_link(locale)
        msg = self.composer.compose(
            kind, lang_of(locale), shown, status, follow=follow, answer=answer, note=note
        )
        rows = []
        if email and s.smtp_host:
            rows.append((_id(), number, kind, "email", email, msg.subject, msg.text, now, now))
        if phone and s.sms_url:
            rows.append((_id(), number, kind, "sms", phone, msg.subject, msg.sms, now, now))
        expires = now + s.request_link_days * 86400
        return [(LINK_INSERT, [(link_hash, number, now, expires)]), (NOTIFY_INSERT, rows)]

    def follow_link(self, locale: str | None) -> tuple[str, bytes]:
        """A link that opens the request without its number and contact, for
        ``request_link_days``: in the widget on ``follow_url`` (its fragment never reaches a
        server's logs), else on this server's request page; and the hash the store keeps."""
        secret = new_token("")
        if self.settings.follow_url:
            return f"{self.settings.follow_url}#cs-request={secret}", token_hash(secret)
        base = self.settings.base_url
        return f"{base}/requests/view/{secret}?lang={lang_of(locale)}", token_hash(secret)

    def answer_link(self, locale: str | None) -> tuple[str, bytes]:
        """A link to ``/requests/answer/<secret>`` in the player's language, and the hash of
        the secret, which is all the store keeps."""
        secret = new_token("")
        return self.answer_url(secret, locale), token_hash(secret)

    def answer_url(self, secret: str, locale: str | None) -> str:
        return f"{self.settings.base_url}/requests/answer/{secret}?lang={lang_of(locale)}"

    def _webhooks(self, t: Transition, changed_by: str, note: str | None) -> Rows:
        urls = self.settings.webhook_urls
        if not urls:
            return []
        body = request_updated_body(
            t.number, self.settings.base_url, status=t.to_status, changed_by=changed_by, note=note
        )
        body["request"]["priority"] = t.priority
        event = (
            _EVENTS.get(t.to_status, "request.updated")
            if t.to_status != t.from_status
            else "request.updated"
        )
        op = EnqueueWebhooks(event, self.settings.hooks(event), lambda: body, self.clock())
        return [(WEBHOOK_INSERT, webhook_rows(op))]

    # -- changes -------------------------------------------------------------------------

    async def event(
        self,
        number: str,
        event: Event,
        *,
        actor: str,
        changed_by: str,
        note: str | None = None,
        confirm_close: bool | None = None,
    ) -> RequestRecord:
        """Apply one event of the lifecycle to a request (StateError if it may not happen)."""
        secret = new_token("")  # for the answer link, if it comes to awaiting the player

        def extras(t: Transition) -> Rows:
            rows = self._webhooks(t, changed_by, note)
            if t.to_status not in _OWED:  # waiting for the player, or done: no reply owed
                rows.append((REPLY_CLEAR, [(t.number,)]))
            if t.to_status != t.from_status and event is not Event.PLAYER_MESSAGE:
                awaiting = t.to_status == Status.AWAITING_CONFIRMATION.value
                rows += self.notifications(
                    t.number,
                    "awaiting_confirmation" if awaiting else "status",
                    t.to_status,
                    email=t.email,
                    phone=t.phone,
                    locale=t.locale,
                    note=note,
                    answer=self.answer_url(secret, t.locale) if awaiting else None,
                )
            return rows

        _, rec = await self.store.transition(
            number, event,
            confirm_close=self.confirm_close if confirm_close is None else confirm_close,
            actor=actor, note=note, now=self.clock(), answer_token_hash=token_hash(secret),
            extras=extras, timing=self.timing,
        )  # fmt: skip
        self.poke()
        self.changed(number)
        if rec.status in (Status.RESOLVED.value, Status.CLOSED.value):
            await self._pick_for_review(rec)
        return rec

    async def _pick_for_review(self, rec: RequestRecord) -> None:
        """A finished request goes to quality review when the rules say (core.qa)."""
        why = qa_reasons(
            rec.number,
            self.routing.qa.share,
            rating=rec.rating,
            escalated=any(e.to_status == Status.ESCALATED.value for e in rec.events),
            complaint=self.confirm_close(rec.chat.topic),
        )
        if why:
            await self.store.qa_pick(rec.number, rec.chat.agent_id, why, self.clock())

    async def follow_up(
        self, number: str, text: str, file: AttachmentRecord | None = None
    ) -> RequestRecord:
        """The player writes on their request after the chat (with a ``file``, kept on the
        request's last chat): kept in its thread; a request waiting for them, or finished,
        is the team's again (core.lifecycle)."""
        return await self._write(number, Event.PLAYER_MESSAGE, "player", None, text, file)

    async def reply(self, number: str, agent_id: int, name: str, text: str) -> RequestRecord:
        """An agent answers on the request: kept in its thread and sent to the player with a
        link back to the request's page."""
        return await self._write(number, Event.AGENT_REPLY, f"agent:{agent_id}", name, text)

    async def _write(
        self,
        number: str,
        event: Event,
        author: str,
        name: str | None,
        text: str,
        file: AttachmentRecord | None = None,
    ) -> RequestRecord:
        now = self.clock()
        file_id = file.id if file is not None else None

        def extras(t: Transition) -> Rows:
            rows: Rows = []
            if file is not None:  # the attachment first: the thread's entry names it
                rows.append((ATTACHMENT_INSERT, [attachment_row(file)]))
            rows.append((FOLLOWUP_INSERT, [(_id(), t.number, now, author, name, text, file_id)]))
            if event is Event.PLAYER_MESSAGE and t.to_status in _OWED:  # the team owes a reply
                rows += self.reply_rows(t.number, t.topic, t.priority, t.department)
            if event is Event.AGENT_REPLY:
                rows.append((REPLY_CLEAR, [(t.number,)]))
                rows += self.notifications(
                    t.number, "reply", t.to_status, email=t.email, phone=t.phone,
                    locale=t.locale, note=text,
                )  # fmt: skip
            return rows

        _, after = await self.store.transition(
            number, event, confirm_close=self.confirm_close,
            actor=author if name is None else name,
            note=None, now=now, extras=extras, timing=self.timing,
        )  # fmt: skip
        self.poke()
        self.changed(number)
        return after

    async def change_status(
        self, raw_number: str, wanted: str, *, actor: str, changed_by: str, note: str | None
    ) -> RequestRecord:
        """The console's and the API's status change: what the lifecycle's event for
        ``wanted`` does (``resolved`` on a confirm-to-close topic awaits the player)."""
        event = EVENT_FOR[parse_status(wanted)]
        return await self.event(
            parse_request_number(raw_number), event, actor=actor, changed_by=changed_by,
            note=note,
        )  # fmt: skip

    async def answer(
        self, number: str, resolved: bool, *, by: str = "player"
    ) -> RequestRecord | None:
        """The player's "resolved?" answer: closes, or escalates; None if the request is
        not awaiting it (then nothing changes)."""
        event = Event.CONFIRM if resolved else Event.REJECT
        note = None if resolved else "The player said the issue is not resolved."
        try:
            return await self.event(
                number, event, actor=by, changed_by="player", note=note, confirm_close=True
            )
        except (StateError, NotFoundError):  # not awaiting their word (any more)
            return None


def _id() -> str:
    return "n_" + secrets.token_hex(12)
