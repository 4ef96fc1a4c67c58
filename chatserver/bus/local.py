"""LocalBus: topics and subscribers in this process; delivery is a synchronous push."""

from __future__ import annotations

from .base import Subscriber

__all__ = ["LocalBus"]


class LocalBus:
    def __init__(self) -> None:
        self._subs: dict[str, set[Subscriber]] = {}

    def subscribe(self, topic: str, sub: Subscriber) -> None:
        self._subs.setdefault(topic, set()).add(sub)

    def unsubscribe(self, topic: str, sub: Subscriber) -> None:
        subs = self._subs.get(topic)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[topic]

    def has(self, topic: str) -> bool:
        """Has the topic a subscriber here?"""
        return topic in self._subs

    def publish(self, topic: str, data: str, *, exclude: Subscriber | None = None) -> int:
        subs = self._subs.get(topic)
        if not subs:
            return 0
        n = 0
        for sub in tuple(subs):
            if sub is not exclude:
                sub.push(data)
                n += 1
        return n
