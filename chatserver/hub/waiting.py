"""What waiting players are told: their place in their department's queue and the wait.

Updates are coalesced (at most ten a second) and sent only to players whose
place or estimate changed. The estimate uses the department's own rolling
average handling time and the slots of the agents who serve it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..core.routing import RollingAverage, estimate_wait
from ..protocol import encode
from .state import LiveChat
from .view import HubView

__all__ = ["Waiting"]

POSITIONS_DELAY = 0.1
_WINDOW = 50


class Waiting:
    def __init__(self, hub: HubView) -> None:
        self.hub = hub
        self.handle_time = RollingAverage(_WINDOW, hub.settings.default_handle_seconds)
        self._per_department: dict[str, RollingAverage] = {}
        self._handle: asyncio.TimerHandle | None = None

    def handled(self, department: str, seconds: float) -> None:
        """A chat of this department was handled in this many seconds."""
        self.handle_time.add(seconds)
        avg = self._per_department.get(department)
        if avg is None:
            avg = self._per_department[department] = RollingAverage(_WINDOW, self.handle_time.value)
        avg.add(seconds)

    def average(self, department: str) -> float:
        avg = self._per_department.get(department)
        return avg.value if avg is not None else self.handle_time.value

    def _eta(self, department: str, position: int) -> int | None:
        return estimate_wait(
            position, self.hub.router.capacity(department), self.average(department)
        )

    def frame(self, live: LiveChat) -> dict[str, Any] | None:
        """The ``queued`` frame for one chat now (None if it is not queued)."""
        router = self.hub.router
        position = router.position(live.id)
        department = router.department_of(live.id)
        if position is None or department is None:
            return None
        eta = self._eta(department, position)
        live.last_queued = (position, eta)
        return _queued(live.id, position, eta)

    def send(self, live: LiveChat) -> None:
        frame = self.frame(live)
        if frame is not None:
            self.hub.bus.publish(live.session.topic, encode(frame))

    def schedule(self) -> None:
        """Something moved: tell waiting players soon (coalesced)."""
        loop = self.hub.loop_or_none
        if self._handle is None and loop is not None:
            self._handle = loop.call_later(POSITIONS_DELAY, self._send_changed)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _send_changed(self) -> None:
        self._handle = None
        hub = self.hub
        for department in hub.router.departments():
            for position, chat_id in enumerate(hub.router.queued(department), 1):
                live = hub.chats[chat_id]
                if not live.created:
                    continue
                eta = self._eta(department, position)
                if live.last_queued != (position, eta):
                    live.last_queued = (position, eta)
                    hub.bus.publish(live.session.topic, encode(_queued(chat_id, position, eta)))


def _queued(chat_id: str, position: int, eta: int | None) -> dict[str, Any]:
    return {"type": "queued", "chat": chat_id, "position": position, "eta_seconds": eta}
