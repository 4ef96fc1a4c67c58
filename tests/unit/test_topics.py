"""The departments and topics file: the shipped default, and clear errors."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from chatserver.core.topics import parse_routing
from chatserver.exceptions import ConfigError


def default() -> dict[str, Any]:
    return tomllib.loads(resources.files("chatserver").joinpath("routing.toml").read_text())


def test_the_default_matches_the_source_documents() -> None:
    """Members-only finance, high-priority complaints, urgent fraud, members-only privacy."""
    cfg = parse_routing(default(), "Europe/Istanbul")
    t = cfg.topics
    assert (t["payments"].department, t["payments"].members_only) == ("finance", True)
    assert (t["complaint"].department, t["complaint"].members_only, t["complaint"].priority) == (
        "complaints",
        True,
        1,
    )
    assert (t["fraud"].department, t["fraud"].priority) == ("security", 2)
    assert (t["privacy"].department, t["privacy"].members_only) == ("privacy", True)
    assert (t["bonus"].department, t["technical"].department) == ("promotions", "technical")
    assert t["payments"].labels == {"tr": "Para yatırma ve çekme", "en": "Deposits and withdrawals"}
    assert cfg.departments["finance"].overflow_to == "general"
    assert cfg.topic("nope") is None


def broken(**changes: Any) -> dict[str, Any]:
    data = {
        "departments": [{"id": "general"}, {"id": "finance", "hours": {"mon": "09:00-17:00"}}],
        "topics": [{"id": "pay", "department": "finance"}],
    }
    for path, value in changes.items():
        kind, key = path.split("__")
        data[kind][0 if kind == "topics" else 1][key] = value
    return data


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"topics__department": "sales"}, "department 'sales' is not defined"),
        ({"topics__priority": "asap"}, "priority"),
        ({"topics__members_only": "yes"}, "members_only"),
        ({"topics__id": "Pay Me"}, "topic id"),
        ({"departments__overflow_to": "finance"}, "overflow_to"),
        ({"departments__overflow_to": "general"}, "needs overflow_after_seconds"),
        ({"departments__overflow_after_seconds": -1}, "positive"),
        ({"departments__max_queue": 0}, "max_queue"),
        ({"departments__timezone": "Mars/Olympus"}, "time zone"),
        ({"departments__hours": {"mon": "all day"}}, "department finance"),
    ],
)
def test_mistakes_name_the_department_or_topic(changes: dict[str, Any], fragment: str) -> None:
    """A configuration mistake stops start-up with a message pointing at it."""
    with pytest.raises(ConfigError) as info:
        parse_routing(broken(**changes), "Europe/Istanbul")
    assert fragment in str(info.value)


def test_missing_sections() -> None:
    with pytest.raises(ConfigError, match="departments"):
        parse_routing({"topics": [{"id": "a", "department": "b"}]}, "UTC")
    with pytest.raises(ConfigError, match="topics"):
        parse_routing({"departments": [{"id": "b"}]}, "UTC")
    with pytest.raises(ConfigError, match="twice"):
        parse_routing(
            {"departments": [{"id": "b"}, {"id": "b"}], "topics": [{"id": "a", "department": "b"}]},
            "UTC",
        )
