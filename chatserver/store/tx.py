"""A write transaction and a row, as the SQL queries see them (each driver adapts its own)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["Conflict", "Row", "Tx"]

Row = Any  # sqlite3.Row or asyncpg.Record: both index by column name and have keys()


class Tx(Protocol):
    """One write transaction, as the queries see it (a driver adapts its connection)."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def insert(self, sql: str, params: Sequence[Any]) -> int:
        """Run an ``INSERT ... RETURNING id``; the new row's id."""
        ...


class Conflict(Exception):
    """A uniqueness rule said no. ``where`` is ``table.column`` (e.g. ``agents.username``)."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
