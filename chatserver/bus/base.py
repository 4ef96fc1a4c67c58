"""The Bus interface: fan-out of encoded frames to whoever subscribed to a topic.

Topics the hub uses: ``session:<id>`` (every tab of one player session) and
``agent:<id>`` (every console of one agent). A subscriber is anything with
``push(data)``; in practice a live connection. The in-process ``LocalBus`` is
the default; a multi-node bus delivers locally and to the other nodes.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Bus", "Subscriber"]


class Subscriber(Protocol):
    def push(self, data: str) -> None: ...


class Bus(Protocol):
    def subscribe(self, topic: str, sub: Subscriber) -> None: ...

    def unsubscribe(self, topic: str, sub: Subscriber) -> None: ...

    def publish(self, topic: str, data: str, *, exclude: Subscriber | None = None) -> int:
        """Deliver ``data`` to the topic's subscribers (but ``exclude``); returns how many."""
        ...
