"""Running figures the hub keeps for ``/metrics``: plain counts, cheap on the hot path.

prometheus_client's own ``Histogram`` takes a lock for every observation (about 2 µs
here, against ≈300 µs of CPU per relayed message); the hub runs on one thread, so it
keeps bare counts and ``chatserver.metrics`` turns them into metric families when the
endpoint is read.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

__all__ = ["LATENCY_BOUNDS", "WAIT_BOUNDS", "Buckets"]

# seconds: a message from its arrival to its commit, a group commit
LATENCY_BOUNDS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
# seconds: a chat's wait in the queue until an agent has it
WAIT_BOUNDS = (0.01, 0.1, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class Buckets:
    """A histogram's raw counts: ``counts[i]`` observations ≤ ``bounds[i]`` and above the
    bound before it; the last count is above every bound."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        if list(bounds) != sorted(set(bounds)):
            raise ValueError("bucket bounds must rise strictly")
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, int]]:
        """Prometheus's ``le`` buckets: (bound, observations ≤ bound), ending with +Inf."""
        out, running = [], 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += n
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out
