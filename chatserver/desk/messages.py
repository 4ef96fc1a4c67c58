"""What the player is told, in Turkish and English: the e-mail's subject and text, and the
SMS. Pure: the caller gives the request's number, status and links."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Message", "compose", "lang_of"]

_STATUS = {
    "tr": {
        "open": "yeniden açıldı",
        "pending": "sizden bilgi bekliyor",
        "awaiting_confirmation": "çözüldü: onayınızı bekliyoruz",
        "escalated": "bir yöneticiye iletildi",
        "resolved": "çözüldü",
        "closed": "kapatıldı",
    },
    "en": {
        "open": "was reopened",
        "pending": "is waiting for information from you",
        "awaiting_confirmation": "was resolved: please confirm",
        "escalated": "was passed to a supervisor",
        "resolved": "was resolved",
        "closed": "was closed",
    },
}


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str  # the e-mail
    sms: str


def lang_of(locale: str | None) -> str:
    return "en" if (locale or "tr").startswith("en") else "tr"


def compose(
    kind: str,
    lang: str,
    number: str,
    status: str,
    *,
    follow: str,
    answer: str | None = None,
    note: str | None = None,
) -> Message:
    """``kind``: ``created`` (the number, at once), ``status`` (a change), or
    ``awaiting_confirmation`` (with the ``answer`` link: resolved or not?)."""
    said = _STATUS[lang].get(status, status)
    if lang == "tr":
        if kind == "created":
            subject = f"Talebiniz alındı: {number}"
            text = f"Merhaba,\n\ntalebinizi aldık. Talep numaranız: {number}.\n"
            sms = f"Talep numaraniz {number}. Takip: {follow}"
        elif kind == "reply":
            subject = f"Talebinize yanıt: {number}"
            text = f"Merhaba,\n\n{number} numaralı talebinize yanıt verdik:\n\n{note}\n"
            sms = f"Talebiniz {number} icin yanit var: {follow}"
            note = None
        elif kind == "awaiting_confirmation":
            subject = f"Talebiniz {number} çözüldü mü?"
            text = (
                f"Merhaba,\n\n{number} numaralı talebinizin çözüldüğünü düşünüyoruz."
                f" Lütfen bize bildirin:\n{answer}\n"
            )
            sms = f"Talebiniz {number} cozuldu mu? Yanitlayin: {answer}"
        else:
            subject = f"Talebiniz {number}: {said}"
            text = f"Merhaba,\n\n{number} numaralı talebiniz {said}.\n"
            sms = f"Talebiniz {number} {said}. {follow}"
        if note:
            text += f"\nNot: {note}\n"
        text += f"\nTalebinizi takip etmek için: {follow}\n"
    else:
        if kind == "created":
            subject = f"We received your request {number}"
            text = f"Hello,\n\nwe received your request. Its number is {number}.\n"
            sms = f"Your request number is {number}. Follow it: {follow}"
        elif kind == "reply":
            subject = f"A reply on your request {number}"
            text = f"Hello,\n\nwe answered your request {number}:\n\n{note}\n"
            sms = f"There is a reply on your request {number}: {follow}"
            note = None
        elif kind == "awaiting_confirmation":
            subject = f"Is your request {number} resolved?"
            text = (
                f"Hello,\n\nwe think your request {number} is resolved. Please tell us:\n{answer}\n"
            )
            sms = f"Is your request {number} resolved? Answer: {answer}"
        else:
            subject = f"Your request {number} {said}"
            text = f"Hello,\n\nyour request {number} {said}.\n"
            sms = f"Your request {number} {said}. {follow}"
        if note:
            text += f"\nNote: {note}\n"
        text += f"\nFollow your request at {follow}\n"
    return Message(subject, text, sms)
