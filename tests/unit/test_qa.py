"""Quality review's rules (core/qa.py): which requests are picked, how a review scores."""

from __future__ import annotations

import pytest

from chatserver.core.qa import Criterion, QaConfig, parse_qa, reasons, score
from chatserver.exceptions import ClientError, ConfigError


def test_what_is_always_reviewed() -> None:
    assert reasons("N1", 0.0, rating=2, escalated=False, complaint=False) == ["low_rating"]
    assert reasons("N1", 0.0, rating=3, escalated=True, complaint=True) == [
        "escalated",
        "complaint",
    ]
    assert reasons("N1", 0.0, rating=None, escalated=False, complaint=False) == []


def test_the_random_share_is_about_right_and_stable() -> None:
    picked = [
        n for n in (f"R{i:06d}" for i in range(10_000))
        if "sample" in reasons(n, 0.1, rating=5, escalated=False, complaint=False)
    ]  # fmt: skip
    assert 900 < len(picked) < 1100
    assert picked == [
        n for n in (f"R{i:06d}" for i in range(10_000))
        if reasons(n, 0.1, rating=5, escalated=False, complaint=False)
    ]  # fmt: skip


def test_a_weighted_score() -> None:
    rubric = (Criterion("a", {}, 1), Criterion("b", {}, 3))
    assert score(rubric, {"a": 5, "b": "5"}) == 100.0
    assert score(rubric, {"a": 0, "b": 5}) == 75.0
    with pytest.raises(ClientError) as err:
        score(rubric, {"a": 6, "b": 1})
    assert err.value.code == "invalid_answer" and err.value.field == "a"


def test_the_rubric_from_the_routing_file() -> None:
    assert parse_qa(None) == QaConfig()
    qa = parse_qa({"share": 0.5, "criteria": [{"id": "kyc", "labels": {"en": "KYC"}, "weight": 2}]})
    assert qa.share == 0.5 and qa.criteria == (Criterion("kyc", {"en": "KYC"}, 2.0),)
    for bad in ({"share": 2}, {"criteria": []}, {"criteria": [{"id": "x", "weight": 0}]}):
        with pytest.raises(ConfigError):
            parse_qa(bad)
