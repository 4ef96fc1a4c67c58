"""What every ``chatserver`` subcommand shares: its settings and a store to work on."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .config import Settings
from .store import Store, make_store

__all__ = ["settings_of", "with_store"]

T = TypeVar("T")


def settings_of(args: argparse.Namespace, **extra: Any) -> Settings:
    return Settings.load(config_file=args.config, db=args.db, **extra)


def with_store(
    settings: Settings, work: Callable[[Store], Awaitable[T]], *, migrate: bool = True
) -> T:
    """Run ``work`` against the (migrated) store, then close it."""

    async def run() -> T:
        store = make_store(settings)
        await store.open()
        try:
            if migrate:
                await store.migrate()
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())
