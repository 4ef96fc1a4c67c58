"""Departments and topics: who handles what, how urgent it is, when they are open.

Parsed from a TOML document (see docs/configuration.md); pure: the caller reads
the file. Every mistake is a ``ConfigError`` naming the department or topic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..exceptions import ConfigError
from .hours import Hours, parse_hours
from .qa import QaConfig, parse_qa
from .sla import SlaPolicy, parse_policies

__all__ = ["PRIORITIES", "Department", "RoutingConfig", "Topic", "parse_routing"]

PRIORITIES = {"normal": 0, "high": 1, "urgent": 2}
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    labels: Mapping[str, str]
    timezone: str
    hours: Hours = field(default_factory=Hours)
    # a chat waiting longer than this may also go to the fallback department's agents
    overflow_after: float | None = None
    overflow_to: str | None = None
    # more waiting than this and new players get the leave-a-message path
    max_queue: int | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    department: str
    labels: Mapping[str, str]
    members_only: bool = False
    priority: int = 0
    # a bot account (role bot) gets the chat first while one is online; it hands the chat
    # to the queue with a handoff frame (docs/protocol.md, "Bots")
    bot_first: bool = False
    # a request of this topic closes only when the player confirms it was resolved
    # (core.lifecycle: awaiting_confirmation); "not resolved" escalates it
    confirm_close: bool = False

    def public(self, locale: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "department": self.department,
            "members_only": self.members_only,
            "priority": self.priority,
            "labels": dict(self.labels),
        }


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    departments: Mapping[str, Department]
    topics: Mapping[str, Topic]  # in the order they are offered
    sla: tuple[SlaPolicy, ...] = ()  # resolution targets per topic and priority
    qa: QaConfig = field(default_factory=QaConfig)  # quality review: sample and rubric

    def topic(self, topic_id: str) -> Topic | None:
        return self.topics.get(topic_id)

    def department(self, department_id: str) -> Department:
        return self.departments[department_id]


def _id(kind: str, value: object) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise ConfigError(f"{kind} id {value!r}: use up to 32 lower-case letters, digits, - or _")
    return value


def _labels(kind: str, raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
        raise ConfigError(f'{kind}: labels must be a table like {{ tr = "...", en = "..." }}')
    return {str(k): str(v) for k, v in raw.items()}


def _priority(kind: str, raw: object) -> int:
    if isinstance(raw, str) and raw in PRIORITIES:
        return PRIORITIES[raw]
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 9:
        return raw
    raise ConfigError(f"{kind}: priority is normal, high, urgent or a number 0-9")


def _positive(kind: str, name: str, raw: object) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
        raise ConfigError(f"{kind}: {name} must be a positive number")
    return float(raw)


def _tables(
    data: Mapping[str, Any], key: str, kind: str
) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(id, "kind id", table) for each [[key]] table, refusing duplicates."""
    tables = data.get(key)
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"routing: give at least one [[{key}]]")
    seen: set[str] = set()
    for raw in tables:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"routing: each [[{key}]] is a table")
        ident = _id(kind, raw.get("id"))
        if ident in seen:
            raise ConfigError(f"{kind} {ident} is defined twice")
        seen.add(ident)
        yield ident, f"{kind} {ident}", raw


def parse_routing(data: Mapping[str, Any], default_timezone: str) -> RoutingConfig:
    """Departments and topics from a parsed TOML document."""
    departments: dict[str, Department] = {}
    for dep_id, kind, raw in _tables(data, "departments", "department"):
        tz = str(raw.get("timezone", default_timezone))
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{kind}: {tz!r} is not a known time zone") from None
        max_queue = raw.get("max_queue")
        if max_queue is not None and (not isinstance(max_queue, int) or max_queue < 1):
            raise ConfigError(f"{kind}: max_queue must be a whole number above 0")
        try:
            hours = parse_hours(raw.get("hours"))
        except ConfigError as exc:
            raise ConfigError(f"{kind}: {exc}") from None
        departments[dep_id] = Department(
            id=dep_id,
            labels=_labels(kind, raw.get("labels")),
            timezone=tz,
            hours=hours,
            overflow_after=_positive(
                kind, "overflow_after_seconds", raw.get("overflow_after_seconds")
            ),
            overflow_to=raw.get("overflow_to"),
            max_queue=max_queue,
        )
    for d in departments.values():
        if d.overflow_to is not None:
            if d.overflow_to not in departments or d.overflow_to == d.id:
                raise ConfigError(
                    f"department {d.id}: overflow_to {d.overflow_to!r} is not another department"
                )
            if d.overflow_after is None:
                raise ConfigError(f"department {d.id}: overflow_to needs overflow_after_seconds")
    topics: dict[str, Topic] = {}
    for topic_id, kind, raw in _tables(data, "topics", "topic"):
        dep_ref = raw.get("department")
        if dep_ref not in departments:
            raise ConfigError(f"{kind}: department {dep_ref!r} is not defined")
        members_only = raw.get("members_only", False)
        if not isinstance(members_only, bool):
            raise ConfigError(f"{kind}: members_only is true or false")
        bot_first = raw.get("bot_first", False)
        if not isinstance(bot_first, bool):
            raise ConfigError(f"{kind}: bot_first is true or false")
        confirm_close = raw.get("confirm_close", False)
        if not isinstance(confirm_close, bool):
            raise ConfigError(f"{kind}: confirm_close is true or false")
        topics[topic_id] = Topic(
            id=topic_id,
            department=str(dep_ref),
            labels=_labels(kind, raw.get("labels")),
            members_only=members_only,
            priority=_priority(kind, raw.get("priority", "normal")),
            bot_first=bot_first,
            confirm_close=confirm_close,
        )
    sla = parse_policies(data.get("sla"), topics, _priority)
    return RoutingConfig(
        departments=departments, topics=topics, sla=sla, qa=parse_qa(data.get("qa"))
    )
