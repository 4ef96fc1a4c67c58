"""The per-connection token bucket."""

from __future__ import annotations

import pytest

from chatserver.core.limits import TokenBucket


def test_burst_then_refill() -> None:
    """A full bucket lets a burst through, then one frame per 1/rate seconds."""
    b = TokenBucket(rate=2.0, burst=3, flood_after=10)
    assert [b.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.take(0.0) == pytest.approx(0.5)
    assert b.take(0.5) == 0.0
    assert b.take(0.5) > 0
    assert b.take(10.0) == 0.0 and b.tokens == pytest.approx(2.0)  # capped at burst


def test_flooding_after_refusals_in_a_row() -> None:
    """flood_after refusals without a pass in between mark the client as flooding."""
    b = TokenBucket(rate=1.0, burst=1, flood_after=3)
    b.take(0.0)
    for _ in range(2):
        assert b.take(0.0) > 0
    assert not b.flooding
    b.take(0.0)
    assert b.flooding
    assert b.take(5.0) == 0.0 and not b.flooding
