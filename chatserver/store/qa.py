"""Quality review's queries, shared by both SQL stores (``SqlStore`` inherits them)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from .tx import Row, Tx

__all__ = ["QaQueries", "QaStore", "Review"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Review:
    number: str
    agent_id: int | None
    agent_name: str | None
    reasons: tuple[str, ...]
    created_at: float
    reviewer_name: str | None = None
    reviewed_at: float | None = None
    score: float | None = None
    answers: dict[str, int] | None = None
    comment: str | None = None


class QaStore(Protocol):
    async def qa_pick(
        self, number: str, agent_id: int | None, reasons: Sequence[str], now: float
    ) -> bool:
        """Put a request in the review queue (once); False if it was there already."""
        ...

    async def qa_reviews(
        self, *, done: bool, agent_id: int | None = None, limit: int = 200
    ) -> list[Review]: ...

    async def qa_review(self, number: str) -> Review | None: ...

    async def qa_save(
        self,
        number: str,
        *,
        reviewer_id: int,
        score: float,
        answers: dict[str, int],
        comment: str | None,
        now: float,
        rows: list[tuple[str, list[tuple[Any, ...]]]],
    ) -> bool:
        """Record a review with ``rows`` (its webhook) in one transaction."""
        ...

    async def qa_scores(self) -> dict[int, tuple[float, int]]:
        """Each agent's mean review score and how many reviews."""
        ...


def _review(r: Row) -> Review:
    return Review(
        r["number"],
        r["agent_id"],
        r["agent_name"],
        tuple(r["reasons"].split()),
        r["created_at"],
        r["reviewer_name"],
        r["reviewed_at"],
        r["score"],
        json.loads(r["answers"]) if r["answers"] else None,
        r["comment"],
    )


_SELECT = (
    "SELECT q.*, a.name AS agent_name, b.name AS reviewer_name FROM qa_reviews q"
    " LEFT JOIN agents a ON a.id = q.agent_id LEFT JOIN agents b ON b.id = q.reviewer_id"
)


class QaQueries:
    async def _fetch(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def _transaction(self, work: Callable[[Tx], Awaitable[T]], what: str) -> T:
        raise NotImplementedError

    async def qa_pick(
        self, number: str, agent_id: int | None, reasons: Sequence[str], now: float
    ) -> bool:
        async def work(w: Tx) -> int:
            return await w.execute(
                "INSERT INTO qa_reviews (number, agent_id, reasons, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (number) DO NOTHING",
                (number, agent_id, " ".join(reasons), now),
            )

        return bool(await self._transaction(work, "cannot queue the review"))

    async def qa_reviews(
        self, *, done: bool, agent_id: int | None = None, limit: int = 200
    ) -> list[Review]:
        where = ["q.reviewed_at IS NOT NULL" if done else "q.reviewed_at IS NULL"]
        params: list[Any] = []
        if agent_id is not None:
            where.append("q.agent_id = ?")
            params.append(agent_id)
        order = "q.reviewed_at DESC" if done else "q.created_at"
        rows = await self._fetch(
            f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?", (*params, limit)
        )
        return [_review(r) for r in rows]

    async def qa_review(self, number: str) -> Review | None:
        rows = await self._fetch(f"{_SELECT} WHERE q.number = ?", (number,))
        return _review(rows[0]) if rows else None

    async def qa_save(
        self,
        number: str,
        *,
        reviewer_id: int,
        score: float,
        answers: dict[str, int],
        comment: str | None,
        now: float,
        rows: list[tuple[str, list[tuple[Any, ...]]]],
    ) -> bool:
        async def work(w: Tx) -> bool:
            changed = await w.execute(
                "UPDATE qa_reviews SET reviewer_id = ?, reviewed_at = ?, score = ?, answers = ?,"
                " comment = ? WHERE number = ?",
                (reviewer_id, now, score, json.dumps(answers), comment, number),
            )
            if changed:
                for sql, params in rows:
                    if params:
                        await w.executemany(sql, params)
            return bool(changed)

        return await self._transaction(work, "cannot save the review")

    async def qa_scores(self) -> dict[int, tuple[float, int]]:
        rows = await self._fetch(
            "SELECT agent_id, avg(score) AS s, count(*) AS n FROM qa_reviews"
            " WHERE reviewed_at IS NOT NULL AND agent_id IS NOT NULL GROUP BY agent_id"
        )
        return {int(r["agent_id"]): (round(float(r["s"]), 1), int(r["n"])) for r in rows}
