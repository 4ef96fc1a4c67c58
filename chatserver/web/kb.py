"""The knowledge base on the web: the public help pages (``/help``), the public API the
widget uses (``/api/kb``), and the console's editor and suggestions (``/console/kb``).

Search and answers to suggestions are limited per client address
(``kb_searches_per_address_per_minute``); every search runs on the search pool.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..exceptions import ClientError, LimitError, NotFoundError
from ..kb.analyzer import LOCALES
from ..kb.articles import Article, check_article
from ..kb.service import SUGGEST_SCORE, KnowledgeBase
from ..store import ConsoleSession
from ..throttle import Window
from .auth import checked_form, require, secure_headers
from .console import page_session
from .i18n import console_language
from .origins import client_address
from .pages import render as render_page

__all__ = [
    "article_api",
    "article_edit",
    "article_page",
    "article_save",
    "article_delete",
    "help_page",
    "outcome_api",
    "search_api",
    "suggest_api",
    "vote_api",
    "vote_form",
    "editor_list",
    "may_edit",
]

MAX_LIMIT = 20


def _kb(request: Request) -> KnowledgeBase:
    kb: KnowledgeBase = request.app.state.kb
    return kb


def _limit(request: Request) -> None:
    """One more search or answer from this address, or ``too_many_searches`` (429)."""
    window: Window = request.app.state.kb_window
    wait = window.take(client_address(request))
    if wait:
        raise LimitError(
            "too_many_searches",
            "too many searches from this address; try again shortly",
            status=429,
            retry_after=math.ceil(wait),
        )


def _locale(raw: str | None) -> str | None:
    if raw in (None, ""):
        return None
    if raw not in LOCALES:
        raise ClientError("invalid_locale", f"locale: one of {', '.join(LOCALES)}", field="locale")
    return raw


def _topic(request: Request, raw: str | None) -> str | None:
    if raw in (None, ""):
        return None
    if raw not in _kb(request).topics:
        raise ClientError("unknown_topic", "no such topic", field="topic")
    return raw


def _base(request: Request) -> str:
    base: str = request.app.state.settings.base_url
    return base


# -- the public API ------------------------------------------------------------------------


async def search_api(request: Request) -> JSONResponse:
    """``GET /api/kb/search?q=&locale=&topic=&limit=``: published articles, best first."""
    params = request.query_params
    q = params.get("q", "").strip()
    if not q:
        raise ClientError("missing_query", "q: what to search for", field="q")
    locale, topic = _locale(params.get("locale")), _topic(request, params.get("topic"))
    raw_limit = params.get("limit", "5")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise ClientError("invalid_limit", f"limit: 1 to {MAX_LIMIT}", field="limit")
    _limit(request)
    found = await _kb(request).search(
        q, locale=locale, topic=topic, limit=int(raw_limit), min_score=SUGGEST_SCORE
    )
    base = _base(request)
    return JSONResponse({"results": [s.public(base) for s in found]})


async def article_api(request: Request) -> JSONResponse:
    """``GET /api/kb/articles/{id}``: a published article with its body as safe HTML."""
    kb = _kb(request)
    article = kb.article(request.path_params["article_id"])
    if article is None:
        raise NotFoundError("article_not_found", "no such article")
    url = f"{_base(request)}/help/{article.id}"
    return JSONResponse({**article.public(), "html": await kb.html(article), "url": url})


class _Outcome(msgspec.Struct, forbid_unknown_fields=True):
    outcome: str
    locale: str = ""
    topic: str | None = None
    article: str | None = None


class _Vote(msgspec.Struct, forbid_unknown_fields=True):
    helpful: bool


def _decode(body: bytes, kind: type[Any]) -> Any:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.ValidationError as exc:
        raise ClientError("invalid_body", str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise ClientError("invalid_json", "the body is not JSON") from exc


async def outcome_api(request: Request) -> Response:
    """``POST /api/kb/outcome``: what a player did with the articles suggested to them."""
    body: _Outcome = _decode(await request.body(), _Outcome)
    _limit(request)
    await _kb(request).outcome(
        body.outcome, topic=body.topic or None, locale=body.locale, article_id=body.article
    )
    return Response(status_code=204)


async def vote_api(request: Request) -> Response:
    """``POST /api/kb/articles/{id}/vote`` ``{"helpful": true}``."""
    body: _Vote = _decode(await request.body(), _Vote)
    _limit(request)
    await _kb(request).vote(request.path_params["article_id"], body.helpful)
    return Response(status_code=204)


# -- the help pages ------------------------------------------------------------------------


def _page_language(request: Request) -> str:
    wanted = request.query_params.get("lang")
    return wanted if wanted in LOCALES else console_language(request, None)


async def help_page(request: Request) -> Response:
    """``/help?q=&lang=``: every published article of a language by topic, or search results."""
    kb = _kb(request)
    lang = _page_language(request)
    q = request.query_params.get("q", "").strip()[:200]
    results = None
    if q:
        _limit(request)
        results = await kb.search(q, locale=lang, limit=MAX_LIMIT, min_score=SUGGEST_SCORE)
    labels = _topic_labels(request, lang)
    groups: dict[str, list[Article]] = {}
    for article in await kb.pool.run(kb.listing, lang):
        groups.setdefault(labels.get(article.topic or "", ""), []).append(article)
    context = {"q": q, "results": results, "groups": groups, "help_lang": lang, "public": True}
    return render_page(request, "help.html", {**context, "force_lang": lang})


async def article_page(request: Request) -> Response:
    """``/help/{id}``: one article, rendered safely, with "was this helpful?"."""
    kb = _kb(request)
    article = kb.article(request.path_params["article_id"])
    if article is None:
        raise NotFoundError("article_not_found", "no such article")
    context = {
        "article": article,
        "html": await kb.html(article),
        "topic_label": _topic_labels(request, article.locale).get(article.topic or "", ""),
        "help_lang": article.locale,
        "public": True,
        "force_lang": article.locale,
    }
    return render_page(request, "help_article.html", context)


async def vote_form(request: Request) -> Response:
    """The help page's "was this helpful?" buttons (a plain form: no script runs there)."""
    form = await request.form()
    article_id = request.path_params["article_id"]
    _limit(request)
    await _kb(request).vote(article_id, form.get("helpful") == "yes")
    return RedirectResponse(f"/help/{quote(article_id)}?voted=1", status_code=303)


def _topic_labels(request: Request, lang: str) -> dict[str, str]:
    routing = request.app.state.hub.routing
    return {t.id: t.labels.get(lang) or t.id for t in routing.topics.values()}


# -- the console ---------------------------------------------------------------------------


def may_edit(session: ConsoleSession) -> bool:
    """Admins, and accounts an admin made knowledge-base editors."""
    return session.agent.role == "admin" or session.agent.kb_editor


async def _editor(request: Request) -> ConsoleSession | Response:
    return await page_session(
        request,
        allow=may_edit,
        denied="Only knowledge-base editors and admins can edit articles.",
    )


async def editor_list(request: Request) -> Response:
    """``/console/kb``: every article, drafts included, and what players asked in vain."""
    session = await _editor(request)
    if isinstance(session, Response):
        return session
    kb = _kb(request)
    articles = await kb.store.kb_articles()
    stats = await kb.store.kb_stats(kb.clock() - 30 * 86400)
    context = {"me": session, "articles": articles, "stats": stats}
    return render_page(request, "kb_list.html", context)


async def article_edit(request: Request) -> Response:
    """``/console/kb/new`` and ``/console/kb/{id}``: the editor form."""
    session = await _editor(request)
    if isinstance(session, Response):
        return session
    article_id = request.path_params.get("article_id")
    article = None
    if article_id is not None:
        article = await _kb(request).store.kb_article(article_id)
        if article is None:
            raise NotFoundError("article_not_found", "no such article")
    return await _edit_view(request, session, article, None)


async def _edit_view(
    request: Request,
    session: ConsoleSession,
    article: Article | None,
    error: ClientError | None,
    form: dict[str, str] | None = None,
) -> Response:
    routing = request.app.state.hub.routing
    context = {
        "me": session,
        "article": article,
        "form": form or {},
        "error": error,
        "topics": list(routing.topics.values()),
        "preview": await _kb(request).preview(article.body) if article is not None else "",
    }
    return render_page(request, "kb_edit.html", context, error.http_status if error else 200)


async def article_save(request: Request) -> Response:
    """``POST /console/kb``: add or replace an article from the editor form."""
    session = await _editor(request)
    if isinstance(session, Response):
        return session
    form = await checked_form(request, session)
    fields: dict[str, Any] = {
        "id": form.get("id", "").strip(),
        "locale": form.get("locale", ""),
        "title": form.get("title", ""),
        "body": form.get("body", "").replace("\r\n", "\n"),
        "topic": form.get("topic") or None,
        "tags": form.get("tags", ""),
        "published": form.get("published") == "on",
    }
    try:
        article = check_article(fields, list(_kb(request).topics))
        await _kb(request).save([article], by=session.agent.username)
    except ClientError as err:
        return await _edit_view(request, session, None, err, form)
    return RedirectResponse(f"/console/kb/{article.id}?saved=1", status_code=303)


async def article_delete(request: Request) -> Response:
    session = await _editor(request)
    if isinstance(session, Response):
        return session
    await checked_form(request, session)
    await _kb(request).delete(request.path_params["article_id"])
    return RedirectResponse("/console/kb", status_code=303)


async def suggest_api(request: Request) -> JSONResponse:
    """``GET /console/kb/suggest?q=&locale=&topic=``: articles for the player's last message,
    for a signed-in agent (not counted as a player's search)."""
    await require(request)
    params = request.query_params
    q = params.get("q", "").strip()
    if not q:
        return secure_json({"results": []})
    found = await _kb(request).search(
        q,
        locale=_locale(params.get("locale")),
        topic=_topic(request, params.get("topic")),
        limit=3,
        min_score=SUGGEST_SCORE,
        count=False,
    )
    base = _base(request)
    return secure_json({"results": [s.public(base) for s in found]})


def secure_json(data: Any) -> JSONResponse:
    response = JSONResponse(data)
    secure_headers(response)
    return response
