"""The knowledge base's queries, shared by both SQL stores (``SqlStore`` inherits them)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ..kb.articles import Article
from .tx import Row, Tx

__all__ = ["KbQueries", "KbStats", "KbStore"]

T = TypeVar("T")

_COLUMNS = (
    "id, locale, title, body, topic, tags, published, updated_at, updated_by, helpful, unhelpful"
)


@dataclass(slots=True)
class KbStats:
    """What players did with suggestions since a time, for the floor and /metrics."""

    # topic ('' for none) -> {"self_served": n, "needed_agent": n}
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)
    misses: list[tuple[str, str, int]] = field(default_factory=list)  # (locale, query, count)

    def self_served_share(self, topic: str) -> float | None:
        counts = self.outcomes.get(topic, {})
        total = counts.get("self_served", 0) + counts.get("needed_agent", 0)
        return counts.get("self_served", 0) / total if total else None


class KbStore(Protocol):
    """The knowledge base's part of the ``Store`` interface."""

    async def kb_articles(self, *, published_only: bool = False) -> list[Article]: ...

    async def kb_article(self, article_id: str) -> Article | None: ...

    async def kb_save(self, articles: Sequence[Article], *, now: float, by: str | None) -> None:
        """Add or replace articles (by id) in one transaction; their votes are kept."""
        ...

    async def kb_delete(self, article_id: str) -> bool: ...

    async def kb_vote(self, article_id: str, helpful: bool) -> bool:
        """Count a "this helped" (or not); False for an unknown article."""
        ...

    async def kb_outcome(
        self, *, at: float, topic: str | None, locale: str, article_id: str | None, outcome: str
    ) -> None:
        """A player shown suggestions was served by one (``self_served``) or went on to an
        agent (``needed_agent``)."""
        ...

    async def kb_miss(self, *, at: float, locale: str, query: str) -> None: ...

    async def kb_stats(
        self, since: float, *, misses: int = 20, until: float = float("inf")
    ) -> KbStats:
        """What players did with suggestions (and searched in vain) from ``since`` until
        ``until``."""
        ...

    async def kb_version(self) -> tuple[int, float]:
        """(articles, latest change): a change by another process changes it."""
        ...


def _article(row: Row) -> Article:
    return Article(
        id=row["id"],
        locale=row["locale"],
        title=row["title"],
        body=row["body"],
        topic=row["topic"],
        tags=json.loads(row["tags"]),
        published=bool(row["published"]),
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        helpful=row["helpful"],
        unhelpful=row["unhelpful"],
    )


class KbQueries:
    """Articles, outcomes and misses; the driver supplies ``_fetch`` and ``_transaction``."""

    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def _transaction(self, work: Callable[[Tx], Awaitable[T]], what: str) -> T:
        raise NotImplementedError

    async def kb_articles(self, *, published_only: bool = False) -> list[Article]:
        where = " WHERE published = 1" if published_only else ""
        rows = await self._fetch(f"SELECT {_COLUMNS} FROM kb_articles{where} ORDER BY id")
        return [_article(r) for r in rows]

    async def kb_article(self, article_id: str) -> Article | None:
        rows = await self._fetch(f"SELECT {_COLUMNS} FROM kb_articles WHERE id = ?", (article_id,))
        return _article(rows[0]) if rows else None

    async def kb_save(self, articles: Sequence[Article], *, now: float, by: str | None) -> None:
        """Add or replace articles (by id) in one transaction; their votes are kept."""
        rows = [
            (
                a.id, a.locale, a.title, a.body, a.topic, json.dumps(a.tags, ensure_ascii=False),
                int(a.published), now, by,
            )
            for a in articles
        ]  # fmt: skip

        async def work(w: Tx) -> None:
            await w.executemany(
                "INSERT INTO kb_articles (id, locale, title, body, topic, tags, published,"
                " updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET locale = excluded.locale,"
                " title = excluded.title, body = excluded.body, topic = excluded.topic,"
                " tags = excluded.tags, published = excluded.published,"
                " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                rows,
            )

        await self._transaction(work, "cannot save articles")

    async def kb_delete(self, article_id: str) -> bool:
        async def work(w: Tx) -> int:
            return await w.execute("DELETE FROM kb_articles WHERE id = ?", (article_id,))

        return bool(await self._transaction(work, "cannot delete article"))

    async def kb_vote(self, article_id: str, helpful: bool) -> bool:
        column = "helpful" if helpful else "unhelpful"

        async def work(w: Tx) -> int:
            return await w.execute(
                f"UPDATE kb_articles SET {column} = {column} + 1 WHERE id = ?", (article_id,)
            )

        return bool(await self._transaction(work, "cannot count the vote"))

    async def kb_outcome(
        self, *, at: float, topic: str | None, locale: str, article_id: str | None, outcome: str
    ) -> None:
        async def work(w: Tx) -> None:
            await w.execute(
                "INSERT INTO kb_outcomes (at, topic, locale, article_id, outcome)"
                " VALUES (?, ?, ?, ?, ?)",
                (at, topic, locale, article_id, outcome),
            )

        await self._transaction(work, "cannot record the outcome")

    async def kb_miss(self, *, at: float, locale: str, query: str) -> None:
        async def work(w: Tx) -> None:
            await w.execute(
                "INSERT INTO kb_misses (at, locale, query) VALUES (?, ?, ?)", (at, locale, query)
            )

        await self._transaction(work, "cannot record the search")

    async def kb_stats(
        self, since: float, *, misses: int = 20, until: float = float("inf")
    ) -> KbStats:
        stats = KbStats()
        until = min(until, 1e18)  # (a number both databases take)
        for row in await self._fetch(
            "SELECT topic, outcome, count(*) AS n FROM kb_outcomes WHERE at >= ? AND at < ?"
            " GROUP BY topic, outcome",
            (since, until),
        ):
            stats.outcomes.setdefault(row["topic"] or "", {})[row["outcome"]] = row["n"]
        stats.misses = [
            (r["locale"], r["query"], r["n"])
            for r in await self._fetch(
                "SELECT locale, query, count(*) AS n FROM kb_misses WHERE at >= ? AND at < ?"
                " GROUP BY locale, query ORDER BY n DESC, query LIMIT ?",
                (since, until, misses),
            )
        ]
        return stats

    async def kb_version(self) -> tuple[int, float]:
        rows = await self._fetch("SELECT count(*) AS n, max(updated_at) AS at FROM kb_articles")
        return int(rows[0]["n"]), float(rows[0]["at"] or 0.0)
