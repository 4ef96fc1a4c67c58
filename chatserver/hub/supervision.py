"""What supervisors see: the roster of agents, the live floor, and read-only monitoring.

The floor is pushed every ``FLOOR_INTERVAL`` seconds to the consoles that asked
for it, and only while somebody watches. Today's figures come from the store,
read at most every ``STATS_TTL`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..core.conversation import ChatState
from ..exceptions import StoreError
from ..privacy.policy import Principal, Scope, request_scope
from ..protocol import encode, to_ms
from ..store import FloorStats
from .connection import Connection
from .state import LiveChat
from .view import HubView

__all__ = ["Supervision"]

log = logging.getLogger("chatserver.hub")

FLOOR_INTERVAL = 2.0
STATS_TTL = 10.0
LIVE_LIST_MAX = 200


class Supervision:
    def __init__(self, hub: HubView) -> None:
        self.hub = hub
        self.watchers: set[Connection] = set()
        self.monitored: dict[Connection, set[str]] = {}  # chats each console follows
        self._task: asyncio.Task[None] | None = None
        self._stats: FloorStats | None = None
        self._stats_at = 0.0
        self._stats_day = 0.0
        self._owed_counts: dict[str, int] | None = None
        self._owed_at = 0.0

    # -- roster ----------------------------------------------------------------

    def roster(self) -> list[dict[str, Any]]:
        """Every agent the hub knows (connected, or away within the grace period)."""
        out = []
        for presence in self.hub.agents.values():
            slot = self.hub.router.agents.get(presence.id)
            out.append(
                {
                    "id": presence.id,
                    "name": presence.name,
                    "status": presence.status.value,
                    "connected": bool(presence.conns),
                    "active": slot.active if slot else 0,
                    "max_chats": presence.record.max_chats,
                }
            )
        return sorted(out, key=lambda a: (a["name"].lower(), a["id"]))

    # -- floor -----------------------------------------------------------------

    def watch(self, conn: Connection, on: bool) -> None:
        if on:
            self.watchers.add(conn)
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._run(), name="floor")
        else:
            self.watchers.discard(conn)

    def forget(self, conn: Connection) -> None:
        """A connection went: stop sending it the floor, drop its monitoring."""
        self.watchers.discard(conn)
        for chat_id in self.monitored.pop(conn, ()):
            live = self.hub.chats.get(chat_id)
            if live is not None:
                live.monitors.discard(conn)

    async def _run(self) -> None:
        while self.watchers:
            try:
                floor = await self.floor()
            except StoreError as exc:
                log.warning("floor figures unavailable: %s", exc)
            else:
                self._send_floor(floor)
            await asyncio.sleep(FLOOR_INTERVAL)

    def _send_floor(self, floor: dict[str, Any]) -> None:
        """Each watcher sees the live chats its access scope covers (supervisors: their
        departments'); one frame is encoded per distinct scope, not per watcher."""
        rows = floor.pop("_rows")
        groups: dict[Scope, list[Connection]] = {}
        for conn in list(self.watchers):
            rec = conn.agent.record if conn.agent is not None else None
            if rec is None:
                continue
            scope = request_scope(Principal.of(rec))
            groups.setdefault(scope, []).append(conn)
        for scope, conns in groups.items():
            live = [row for row, (dept, agent) in rows if scope.covers(dept, agent)]
            frame = encode({**floor, "live": live[:LIVE_LIST_MAX]})
            for conn in conns:
                conn.push(frame)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _start_of_today(self) -> float:
        now = datetime.fromtimestamp(self.hub.clock(), ZoneInfo(self.hub.settings.timezone))
        return now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()

    async def _today(self) -> FloorStats:
        day = self._start_of_today()
        stale = time.monotonic() - self._stats_at > STATS_TTL
        if self._stats is None or stale or day != self._stats_day:
            self._stats = await self.hub.store.floor_stats(day)
            self._stats_at = time.monotonic()
            self._stats_day = day
        return self._stats

    async def floor(self) -> dict[str, Any]:
        """The live floor: agents, queue, chats, and today's figures; the live chats as
        ``_rows``, for ``_send_floor`` to pick from per watcher."""
        hub = self.hub
        now = hub.clock()
        today = await self._today()
        live = sorted(hub.chats.values(), key=lambda c: c.conv.created_at)
        active = sum(1 for c in live if c.conv.state is ChatState.ACTIVE)
        return {
            "type": "floor",
            "agents": self.roster(),
            "queue": {
                "length": len(hub.router),
                "longest_wait": round(hub.router.oldest_wait(now)),
            },
            "chats": {"active": active, "ended_today": today.ended},
            # requests the team owes, past a target (late) or due within the hour
            "requests": await self._owed(now),
            "today": {
                "avg_first_response": _round(today.avg_first_response),
                "avg_handle": _round(today.avg_handle),
                "avg_rating": None if today.avg_rating is None else round(today.avg_rating, 2),
                "ratings": today.ratings,
            },
            # (row, (department, agent)) of every live chat: each watcher gets the "live" rows
            # its scope covers (_send_floor)
            "_rows": [(self._live_row(c, now), (c.conv.department, c.conv.agent_id)) for c in live],
        }

    async def _owed(self, now: float) -> dict[str, int]:
        if self._owed_counts is None or time.monotonic() - self._owed_at > STATS_TTL:
            late, soon = await self.hub.store.owed_counts(now, now + 3600)
            self._owed_counts = {"late": late, "due_soon": soon}
            self._owed_at = time.monotonic()
        return self._owed_counts

    def _live_row(self, live: LiveChat, now: float) -> dict[str, Any]:
        conv = live.conv
        desk = self.hub.desk
        # waiting for its first answer past the first-response target
        late = (
            desk is not None
            and conv.first_response_at is None
            and desk.first_response_missed(conv, now) is not None
        )
        return {
            "chat": conv.id,
            "state": conv.state.value,
            "player": conv.player.name or conv.player.username or conv.player.email,
            "topic": conv.player.topic,
            "agent": conv.agent_name,
            "since": to_ms(conv.created_at),
            "escalated": live.escalated,
            "late": late,
        }

    # -- monitoring ----------------------------------------------------------------

    def monitor(self, conn: Connection, live: LiveChat) -> None:
        """Follow a live chat read-only: its summary now, its frames as they come."""
        live.monitors.add(conn)
        self.monitored.setdefault(conn, set()).add(live.id)
        self.hub.subscribe(conn, live.topic)
        conn.send({"type": "monitoring", **self.hub.chat_summary(live)})

    def unmonitor(self, conn: Connection, live: LiveChat) -> None:
        live.monitors.discard(conn)
        self.monitored.get(conn, set()).discard(live.id)
        if (
            live.notified_agent is None
            or conn.agent is None
            or conn.agent.id != live.notified_agent
        ):
            self.hub.unsubscribe(conn, live.topic)


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)
