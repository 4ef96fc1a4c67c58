"""The knowledge base a server runs: articles in the store, an index per language in memory.

Every index operation (building, searching, changing) runs on the ``search`` pool, a single
worker thread: the event loop never analyses text, and the index is never read while it is
being changed. A full pool answers ``busy``. The hub node serves the knowledge base (edges
pass HTTP on to it), so its index is the only one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from ..exceptions import ClientError, NotFoundError, StoreError
from ..pools import BoundedPool, Busy
from ..store import Store
from .analyzer import LOCALES, fold
from .articles import Article, plain_text, render
from .index import Hit, Index

__all__ = ["MISS_SCORE", "SUGGEST_SCORE", "KnowledgeBase", "Suggestion"]

log = logging.getLogger("chatserver.kb")

SUGGEST_SCORE = 2.0  # below this an article is not worth showing to a player
MISS_SCORE = 3.0  # a search whose best article scores below this found nothing good
MAX_QUERY = 500  # characters of a query that are searched
MISS_CHARS = 120  # characters of a missed query kept for editors


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: str
    locale: str
    title: str
    topic: str | None
    snippet: str
    score: float

    def public(self, base_url: str = "") -> dict[str, Any]:
        return {
            "id": self.id,
            "locale": self.locale,
            "title": self.title,
            "topic": self.topic,
            "snippet": self.snippet,
            "score": self.score,
            "url": f"{base_url}/help/{self.id}",
        }


def _indexed(a: Article) -> tuple[object, ...]:
    """What the index holds of an article."""
    return (a.locale, a.title, tuple(a.tags), a.body, a.topic, a.published)


class KnowledgeBase:
    """Articles, search, and what players did with what they were shown."""

    def __init__(
        self,
        store: Store,
        pool: BoundedPool,
        topics: Collection[str],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.pool = pool
        self.topics = tuple(topics)
        self.clock = clock
        self.indexes = {locale: Index(locale) for locale in LOCALES}
        self.published: dict[str, Article] = {}  # what the indexes hold
        self._html: dict[str, str] = {}  # published articles rendered, as they are asked for
        # plain counts for /metrics (chatserver.metrics)
        self.searches = 0
        self.misses = 0
        self.outcomes: Counter[tuple[str, str]] = Counter()  # (topic, outcome)
        self.votes: Counter[bool] = Counter()
        self.version: tuple[int, float] = (0, 0.0)
        self._refresher: asyncio.Task[None] | None = None

    async def load(self) -> None:
        """Index every published article (at start-up, and when another process, such as
        ``chatserver kb import``, changed them), on the pool."""
        version = await self.store.kb_version()
        articles = await self.store.kb_articles(published_only=True)
        await self.pool.run(self._reload, articles)
        self.version = version
        log.info("knowledge base: %d published articles indexed", len(self.published))

    def start(self, refresh_seconds: float) -> None:
        """Look for changes made by other processes every ``refresh_seconds``."""
        self._refresher = asyncio.create_task(self._refresh(refresh_seconds), name="kb-refresh")

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None

    async def _refresh(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                if await self.store.kb_version() != self.version:
                    await self.load()
            except (StoreError, Busy) as exc:
                log.warning("knowledge base: cannot refresh now: %s", exc)

    def _reload(self, articles: Sequence[Article]) -> None:
        """Make the index hold exactly ``articles``, re-indexing only those whose indexed
        text changed (on the pool, like every change: the comparison reads the index)."""
        keep = {a.id for a in articles}
        gone = [article_id for article_id in self.published if article_id not in keep]
        changed = []
        for a in articles:
            old = self.published.get(a.id)
            if old is not None and _indexed(old) == _indexed(a):
                self.published[a.id] = a  # (its votes and times, say)
            else:
                changed.append(a)
        self._index(changed, gone)

    def _index(self, changed: Sequence[Article], removed: Sequence[str]) -> None:
        self._change(changed, removed)
        for index in self.indexes.values():
            index.prepare()

    def _change(self, changed: Sequence[Article], removed: Sequence[str]) -> None:
        for article_id in [*removed, *(a.id for a in changed)]:
            self._html.pop(article_id, None)
        for article_id in removed:
            old = self.published.pop(article_id, None)
            if old is not None:
                self.indexes[old.locale].remove(article_id)
        for a in changed:
            old = self.published.pop(a.id, None)
            if old is not None:
                self.indexes[old.locale].remove(a.id)
            if a.published:
                fields = {"title": a.title, "tags": " ".join(a.tags), "body": plain_text(a.body)}
                self.indexes[a.locale].add(a.id, fields, a.topic)
                self.published[a.id] = a

    # -- editing --

    async def save(self, articles: Sequence[Article], *, by: str | None) -> None:
        """Add or replace articles, in the store and then in the index."""
        for a in articles:
            if a.topic is not None and a.topic not in self.topics:
                raise ClientError(
                    "invalid_article", f"{a.id}: unknown topic {a.topic!r}", field="topic"
                )
        await self.store.kb_save(articles, now=self.clock(), by=by)
        await self.pool.run(self._index, articles, ())
        self.version = await self.store.kb_version()

    async def delete(self, article_id: str) -> None:
        if not await self.store.kb_delete(article_id):
            raise NotFoundError("article_not_found", "no such article")
        await self.pool.run(self._index, (), (article_id,))
        self.version = await self.store.kb_version()

    # -- reading --

    def article(self, article_id: str) -> Article | None:
        """A published article, as indexed."""
        return self.published.get(article_id)

    async def html(self, article: Article) -> str:
        """A published article's body as safe HTML: rendered on the pool the first time it is
        asked for (Markdown and the sanitizer take CPU), then kept until it changes."""
        cached = self._html.get(article.id)
        if cached is None:
            cached = await self.preview(article.body)
            if self.published.get(article.id) is article:
                self._html[article.id] = cached
        return cached

    async def preview(self, markdown: str) -> str:
        """Any Markdown as safe HTML (the editor's preview), on the pool."""
        return await self.pool.run(render, markdown)

    def listing(self, locale: str) -> list[Article]:
        """The published articles of a language, by topic then title (run it on the pool:
        it folds every title, and the pool is where the index changes)."""
        mine = [a for a in self.published.values() if a.locale == locale]
        return sorted(mine, key=lambda a: (a.topic or "~", fold(a.title)))

    async def search(
        self,
        query: str,
        *,
        locale: str | None = None,
        topic: str | None = None,
        limit: int = 5,
        min_score: float = 0.0,
        count: bool = True,
    ) -> list[Suggestion]:
        """Published articles for ``query``, best first. ``count``: a player's or a visitor's
        search, counted (and kept for editors when nothing good was found)."""
        query = query[:MAX_QUERY]
        locales = [locale] if locale in LOCALES else list(LOCALES)
        hits = await self.pool.run(self._search, query, locales, topic, limit)
        found = [
            Suggestion(h.id, a.locale, a.title, a.topic, h.snippet, h.score)
            for h in hits
            if h.score >= min_score and (a := self.published.get(h.id)) is not None
        ]
        if count and query.strip():
            self.searches += 1
            if not hits or hits[0].score < MISS_SCORE:
                self.misses += 1
                await self.store.kb_miss(
                    at=self.clock(),
                    locale=locales[0] if locale else "",
                    query=fold(query)[:MISS_CHARS],
                )
        return found

    def _search(self, query: str, locales: list[str], topic: str | None, limit: int) -> list[Hit]:
        hits: list[Hit] = []
        for locale in locales:
            hits.extend(self.indexes[locale].search(query, limit, topic))
        hits.sort(key=lambda h: (-h.score, h.id))
        return hits[:limit]

    # -- what players did --

    async def outcome(
        self, outcome: str, *, topic: str | None, locale: str, article_id: str | None
    ) -> None:
        """A player shown suggestions was served (``self_served``) or asked for an agent
        (``needed_agent``); a served player's article counts a helpful vote."""
        if outcome not in ("self_served", "needed_agent"):
            raise ClientError("invalid_outcome", "outcome: self_served or needed_agent")
        if topic is not None and topic not in self.topics:
            raise ClientError("unknown_topic", "no such topic", field="topic")
        if article_id is not None and article_id not in self.published:
            raise NotFoundError("article_not_found", "no such article")
        self.outcomes[(topic or "", outcome)] += 1
        await self.store.kb_outcome(
            at=self.clock(),
            topic=topic,
            locale=locale if locale in LOCALES else "",
            article_id=article_id,
            outcome=outcome,
        )
        if outcome == "self_served" and article_id is not None:
            await self.vote(article_id, True)

    async def vote(self, article_id: str, helpful: bool) -> None:
        if article_id not in self.published or not await self.store.kb_vote(article_id, helpful):
            raise NotFoundError("article_not_found", "no such article")
        self.votes[helpful] += 1
