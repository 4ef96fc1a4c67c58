"""The hub's histogram counts and their Prometheus ``le`` buckets."""

from __future__ import annotations

import pytest

from chatserver.core.stats import Buckets


def test_a_value_on_a_bound_counts_as_at_most_that_bound() -> None:
    b = Buckets((0.001, 0.01))
    for value in (0.0005, 0.001, 0.002, 0.01, 0.5):
        b.observe(value)
    assert b.cumulative() == [("0.001", 2), ("0.01", 4), ("+Inf", 5)]
    assert sum(b.counts) == 5 and b.total == pytest.approx(0.5135)


def test_bounds_must_rise() -> None:
    with pytest.raises(ValueError):
        Buckets((0.01, 0.001))
    with pytest.raises(ValueError):
        Buckets((0.01, 0.01))
