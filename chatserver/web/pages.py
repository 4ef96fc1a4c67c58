"""Rendering console pages: Jinja2 templates from agent_console/, with security headers."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from .auth import secure_headers
from .i18n import catalog, console_language, translator

__all__ = ["CONSOLE_DIR", "render"]

CONSOLE_DIR = Path(str(files("chatserver.console")))
_templates = Jinja2Templates(directory=CONSOLE_DIR / "templates")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


_templates.env.filters["duration"] = _duration


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """A console page, in the agent's language; templates autoescape everything they show."""
    me = context.get("me")
    # a public page in one language (an article) says so; the console follows the agent
    lang = context.get("force_lang") or console_language(
        request, me.agent if me is not None else None
    )
    context = {**context, "lang": lang, "_": translator(lang), "i18n": catalog(lang)}
    response = _templates.TemplateResponse(request, name, context, status_code=status)
    return secure_headers(response)
