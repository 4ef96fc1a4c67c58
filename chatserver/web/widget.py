"""The player widget's files: /widget.js, its catalogs, and the demo player site at /."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.templating import Jinja2Templates

from ..exceptions import NotFoundError

__all__ = ["catalog", "demo", "demo_js", "widget_js"]

WIDGET_DIR = Path(str(files("chatserver.widget")))
LOCALES = tuple(sorted(p.stem for p in (WIDGET_DIR / "i18n").glob("*.json")))
_templates = Jinja2Templates(directory=WIDGET_DIR)
# any site may load the script and catalogs (they hold no secrets); caches keep them five minutes
_ASSET_HEADERS = {
    "Cache-Control": "public, max-age=300",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "X-Content-Type-Options": "nosniff",
}


async def widget_js(request: Request) -> Response:
    return FileResponse(
        WIDGET_DIR / "widget.js",
        media_type="text/javascript; charset=utf-8",
        headers=_ASSET_HEADERS,
    )


async def catalog(request: Request) -> Response:
    """GET /widget/i18n/{locale}.json: the strings of one language."""
    locale = request.path_params["locale"]
    if locale not in LOCALES:
        raise NotFoundError(
            "unknown_locale", f"no catalog for {locale!r}; have {', '.join(LOCALES)}"
        )
    return FileResponse(
        WIDGET_DIR / "i18n" / f"{locale}.json",
        media_type="application/json",
        headers={**_ASSET_HEADERS, "Access-Control-Allow-Origin": "*"},
    )


async def demo(request: Request) -> Response:
    """GET /: a demo "player site" with the widget embedded (``?lang=en`` for English)."""
    lang = request.query_params.get("lang", "tr")
    return _templates.TemplateResponse(
        request, "demo.html", {"locale": lang if lang in LOCALES else "tr"}
    )


async def demo_js(request: Request) -> Response:
    return FileResponse(WIDGET_DIR / "demo.js", media_type="text/javascript; charset=utf-8")
