"""Member directories: where "is this username with this e-mail one of our members?" is asked.

- ``StoreDirectory``: the built-in ``members`` table, filled by
  ``chatserver members import members.csv``.
- ``HttpDirectory``: the platform's own API. ``GET <url>?username=..&email=..`` with
  an optional secret header; 200 with the member as JSON (``member_id``,
  ``username``, ``email``, optionally ``name`` and ``birthdate``), or 404 when
  there is no such member. Anything else (fields of the wrong type, more than
  64 KiB), or no whole answer within the timeout, is ``DirectoryUnavailable``: the
  player is told we cannot verify right now.

The match itself (both fields must belong to the member) is ``core.identity``'s.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Protocol

import httpx
import msgspec

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


class _Answer(msgspec.Struct):
    """What the directory must answer for a member; anything else is unreadable."""

    member_id: str | int
    username: str | None = None
    email: str | None = None
    name: str | None = None
    birthdate: str | None = None


_MAX_ANSWER = 64 * 1024


class HttpDirectory:
    """The platform's member API. ``timeout`` is the whole look-up's deadline: a directory
    that answers a byte a second is as unavailable as one that does not answer."""

    def __init__(self, url: str, header: str = "", timeout: float = 3.0) -> None:
        headers = {}
        if header:
            name, _, value = header.partition(":")
            headers[name.strip()] = value.strip()
        self.url = url
        self.deadline = timeout
        self.client = httpx.AsyncClient(timeout=timeout, headers=headers, follow_redirects=False)

    async def find(self, username: str, email: str) -> Member | None:
        try:
            async with asyncio.timeout(self.deadline):
                status, body = await self._get(username, email)
        except (httpx.HTTPError, TimeoutError) as exc:
            log.warning("member directory did not answer: %s", exc or type(exc).__name__)
            raise DirectoryUnavailable(str(exc) or type(exc).__name__) from exc
        if status == 404:
            return None
        if status != 200:
            log.warning("member directory answered %s", status)
            raise DirectoryUnavailable(f"directory answered HTTP {status}")
        try:
            data = msgspec.json.decode(body, type=_Answer)
            birth = data.birthdate
            return Member(
                member_id=str(data.member_id),
                username=data.username,
                email=data.email,
                name=data.name,
                birthdate=date.fromisoformat(birth) if birth else None,
            )
        except (msgspec.DecodeError, ValueError) as exc:
            log.warning("member directory answered something unreadable: %s", exc)
            raise DirectoryUnavailable("directory answer unreadable") from exc

    async def _get(self, username: str, email: str) -> tuple[int, bytes]:
        params = {"username": username, "email": email}
        async with self.client.stream("GET", self.url, params=params) as r:
            body = bytearray()
            async for chunk in r.aiter_bytes():
                body += chunk
                if len(body) > _MAX_ANSWER:
                    raise DirectoryUnavailable("directory answer too large")
            return r.status_code, bytes(body)

    async def close(self) -> None:
        await self.client.aclose()


def make_directory(settings: Settings, store: Store) -> MemberDirectory:
    if settings.directory_url:
        return HttpDirectory(
            settings.directory_url, settings.directory_header, settings.directory_timeout_seconds
        )
    return StoreDirectory(store)
