"""The player widget's files: /widget.js, its catalogs, and the demo player site at /."""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.templating import Jinja2Templates

from ..exceptions import NotFoundError

__all__ = ["catalog", "demo", "demo_js", "widget_js", "widget_version"]

WIDGET_DIR = Path(str(files("chatserver.widget")))
LOCALES = tuple(sorted(p.stem for p in (WIDGET_DIR / "i18n").glob("*.json")))
_templates = Jinja2Templates(directory=WIDGET_DIR)
# any site may load the script and catalogs (they hold no secrets); caches keep them five minutes
_ASSET_HEADERS = {
    "Cache-Control": "public, max-age=300",
    "Cross-Origin-Resource-Policy": "cross-origin",
    "X-Content-Type-Options": "nosniff",
}


_YEAR = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    """A shipped file as served: its bytes, gzipped once, and a validator."""

    body: bytes
    gzipped: bytes
    version: str  # the first 12 hex digits of its SHA-256: the ?v= of its versioned URL
    media_type: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


@functools.cache
def asset(path: Path, media_type: str) -> Asset:
    """Read and compress a shipped file once (the files do not change while we run)."""
    body = path.read_bytes()
    version = hashlib.sha256(body).hexdigest()[:12]
    return Asset(body, gzip.compress(body, 9, mtime=0), version, media_type)


def widget_version() -> str:
    """What ``/widget.js?v=`` takes for the shipped widget (the demo page links it so)."""
    return asset(WIDGET_DIR / "widget.js", _JS).version


_JS = "text/javascript; charset=utf-8"


def _serve(request: Request, a: Asset, headers: dict[str, str]) -> Response:
    """Gzipped when the client takes it; 304 when it has this version; cached for a year
    under its versioned URL (``?v=``), else for five minutes and then revalidated."""
    cache = _YEAR if request.query_params.get("v") == a.version else "public, max-age=300"
    out = {**headers, "Cache-Control": cache, "ETag": a.etag, "Vary": "Accept-Encoding"}
    if a.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=out)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            a.gzipped, media_type=a.media_type, headers={**out, "Content-Encoding": "gzip"}
        )
    return Response(a.body, media_type=a.media_type, headers=out)


async def widget_js(request: Request) -> Response:
    """GET /widget.js (``?v=<version>`` for the URL that may be cached for a year)."""
    return _serve(request, asset(WIDGET_DIR / "widget.js", _JS), _ASSET_HEADERS)


async def catalog(request: Request) -> Response:
    """GET /widget/i18n/{locale}.json: the strings of one language."""
    locale = request.path_params["locale"]
    if locale not in LOCALES:
        raise NotFoundError(
            "unknown_locale", f"no catalog for {locale!r}; have {', '.join(LOCALES)}"
        )
    a = asset(WIDGET_DIR / "i18n" / f"{locale}.json", "application/json")
    return _serve(request, a, {**_ASSET_HEADERS, "Access-Control-Allow-Origin": "*"})


async def demo(request: Request) -> Response:
    """GET /: a demo "player site" with the widget embedded (``?lang=en`` for English)."""
    lang = request.query_params.get("lang", "tr")
    return _templates.TemplateResponse(
        request,
        "demo.html",
        {"locale": lang if lang in LOCALES else "tr", "widget_version": widget_version()},
    )


async def demo_js(request: Request) -> Response:
    return FileResponse(WIDGET_DIR / "demo.js", media_type="text/javascript; charset=utf-8")
