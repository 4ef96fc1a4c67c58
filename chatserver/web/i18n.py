"""The console's languages: English, and Turkish from ``agent_console/i18n/tr.json``.

The English text is the key (as with gettext): templates say ``{{ _("Sign in") }}`` and
scripts ``csDom.t("Sign in")``, and the Turkish catalog maps each English text to its
translation (``{name}``-style placeholders stay). An agent's choice is kept on their account;
until they choose, the browser's ``Accept-Language`` decides.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from starlette.requests import HTTPConnection

from ..store import AgentRecord

__all__ = ["LANGUAGES", "catalog", "console_language", "translator"]

LANGUAGES = ("tr", "en")
_CATALOGS = Path(str(files("chatserver.console"))) / "i18n"


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """English text -> this language's (empty for English itself)."""
    if lang == "en":
        return {}
    data: dict[str, str] = json.loads((_CATALOGS / f"{lang}.json").read_text("utf-8"))
    return data


def console_language(conn: HTTPConnection, agent: AgentRecord | None) -> str:
    """The agent's chosen language, else the browser's first one we have, else English."""
    if agent is not None and agent.locale in LANGUAGES:
        return agent.locale
    for part in conn.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def translator(lang: str) -> Callable[..., str]:
    table = catalog(lang)

    def _(text: str, **values: object) -> str:
        out = table.get(text, text)
        return out.format(**values) if values else out

    return _
