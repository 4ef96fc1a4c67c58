"""What the player is told, in Turkish and English: the e-mail's subject and text, and the
SMS. The wording is in Jinja2 templates, one per language (``notifications/tr.txt``,
``notifications/en.txt``), each with the macros ``subject``, ``email`` and ``sms``; an
operator's copies in ``notification_templates_dir`` take their place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined

from ..exceptions import ConfigError

__all__ = ["LANGUAGES", "Composer", "Message", "lang_of"]

LANGUAGES = ("tr", "en")


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    text: str  # the e-mail
    sms: str


def lang_of(locale: str | None) -> str:
    return "en" if (locale or "tr").startswith("en") else "tr"


class Composer:
    """Renders notifications from the templates (compiled once, at start)."""

    def __init__(self, folder: str = "") -> None:
        loaders: list[Any] = [PackageLoader("chatserver.desk", "notifications")]
        if folder:
            if not Path(folder).is_dir():
                raise ConfigError(f"notification_templates_dir {folder!r} is not a folder")
            loaders.insert(0, FileSystemLoader(folder))
        # plain text (e-mail and SMS), never HTML: nothing to escape
        env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=False,
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        self._macros: dict[str, Any] = {}
        for lang in LANGUAGES:
            try:
                module = env.get_template(f"{lang}.txt").module
                self._macros[lang] = {m: getattr(module, m) for m in ("subject", "email", "sms")}
            except Exception as exc:  # a template that does not load or lacks a macro
                raise ConfigError(f"notification template {lang}.txt: {exc}") from exc

    def compose(
        self,
        kind: str,
        lang: str,
        number: str,
        status: str,
        *,
        follow: str,
        answer: str | None = None,
        note: str | None = None,
    ) -> Message:
        """``kind``: ``created`` (the number, at once), ``reply`` (the team's answer in
        ``note``), ``status`` (a change), or ``awaiting_confirmation`` (with the ``answer``
        link: resolved or not?)."""
        m = self._macros[lang if lang in self._macros else "tr"]
        return Message(
            str(m["subject"](kind, number, status)).strip(),
            str(m["email"](kind, number, status, follow, answer, note)),
            str(m["sms"](kind, number, status, follow, answer)).strip(),
        )
