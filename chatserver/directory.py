"""Member directories: where "is this username with this e-mail one of our members?" is asked.

- ``StoreDirectory``: the built-in ``members`` table, filled by
  ``chatserver members import members.csv``.
- ``HttpDirectory``: the platform's own API. ``GET <url>?username=..&email=..`` with
  an optional secret header; 200 with the member as JSON (``member_id``,
  ``username``, ``email``, optionally ``name`` and ``birthdate``), or 404 when
  there is no such member. Anything else, or no answer within the timeout, is
  ``DirectoryUnavailable``: the player is told we cannot verify right now.

The match itself (both fields must belong to the member) is ``core.identity``'s.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Protocol

import httpx

from .config import Settings
from .core.identity import Member
from .exceptions import ChatServerError
from .store import Store

__all__ = [
    "DirectoryUnavailable",
    "HttpDirectory",
    "MemberDirectory",
    "StoreDirectory",
    "make_directory",
]

log = logging.getLogger("chatserver.directory")


class DirectoryUnavailable(ChatServerError):
    """The directory did not answer (in time, or sensibly)."""


class MemberDirectory(Protocol):
    async def find(self, username: str, email: str) -> Member | None:
        """The member with this username (the caller checks the e-mail), or None."""
        ...

    async def close(self) -> None: ...


class StoreDirectory:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def find(self, username: str, email: str) -> Member | None:
        return await self.store.member_by_username(username)

    async def close(self) -> None:
        return None


class HttpDirectory:
    def __init__(self, url: str, header: str = "", timeout: float = 3.0) -> None:
        headers = {}
        if header:
            name, _, value = header.partition(":")
            headers[name.strip()] = value.strip()
        self.url = url
        self.client = httpx.AsyncClient(timeout=timeout, headers=headers, follow_redirects=False)

    async def find(self, username: str, email: str) -> Member | None:
        try:
            r = await self.client.get(self.url, params={"username": username, "email": email})
        except httpx.HTTPError as exc:
            log.warning("member directory did not answer: %s", exc)
            raise DirectoryUnavailable(str(exc) or type(exc).__name__) from exc
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            log.warning("member directory answered %s", r.status_code)
            raise DirectoryUnavailable(f"directory answered HTTP {r.status_code}")
        try:
            data = r.json()
            birth = data.get("birthdate")
            return Member(
                member_id=str(data["member_id"]),
                username=data.get("username"),
                email=data.get("email"),
                name=data.get("name"),
                birthdate=date.fromisoformat(birth) if birth else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("member directory answered something unreadable: %s", exc)
            raise DirectoryUnavailable("directory answer unreadable") from exc

    async def close(self) -> None:
        await self.client.aclose()


def make_directory(settings: Settings, store: Store) -> MemberDirectory:
    if settings.directory_url:
        return HttpDirectory(
            settings.directory_url, settings.directory_header, settings.directory_timeout_seconds
        )
    return StoreDirectory(store)
