"""The benchmark's rules for a noisy host: a saturation step that fails while the host
takes the server's core (steal time) does not count against the server; one that fails
on its own counts, twice. (Only the rules: the suite itself runs in test_bench_smoke.)"""

from __future__ import annotations

from typing import Any

import pytest

from bench import scenarios


def step(rate: float, p99: float, stolen: float) -> dict[str, Any]:
    return {
        "rate_offered": round(rate),
        "complete": p99 < 1000,  # a p99 of 1,000 ms or more stands for a collapse here
        "throughput": round(rate),
        "p99_ms": p99,
        "server_core_stolen": stolen,
    }


async def ladder(
    monkeypatch: pytest.MonkeyPatch, script: dict[int, list[tuple[float, float]]]
) -> tuple[int, list[int]]:
    """Run the saturation ladder on scripted steps: rate -> [(p99 ms, steal), ...]."""
    runs: list[int] = []

    async def relay_step(*_: Any, rate: float, **__: Any) -> dict[str, Any]:
        runs.append(round(rate))
        p99, stolen = script[round(rate)].pop(0)
        return step(rate, p99, stolen)

    async def drained(*_: Any) -> None:
        pass

    monkeypatch.setattr(scenarios, "relay_step", relay_step)
    monkeypatch.setattr(scenarios, "drained", drained)
    result = await scenarios.saturation(
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        [],
        acks=True,
        start=1000,
        limit=1500,
        step_seconds=1,
    )
    return result["saturation_rate"], runs


async def test_failures_under_steal_do_not_count(monkeypatch: pytest.MonkeyPatch) -> None:
    rate, runs = await ladder(
        monkeypatch,
        {
            1000: [(3.0, 0.0)],
            # three failures while the host took 10-30% of the core, then a clean pass
            1200: [(40.0, 0.1), (90.0, 0.3), (30.0, 0.08), (4.0, 0.01)],
            1400: [(30.0, 0.0), (31.0, 0.0)],  # fails twice on its own: the end
        },
    )
    assert rate == 1200
    assert runs == [1000, 1200, 1200, 1200, 1200, 1400, 1400]


async def test_a_step_is_tried_at_most_five_times(monkeypatch: pytest.MonkeyPatch) -> None:
    rate, runs = await ladder(
        monkeypatch,
        {1000: [(3.0, 0.0)], 1200: [(40.0, 0.2)] * 5, 1400: []},
    )
    assert rate == 1000
    assert runs == [1000] + [1200] * 5


async def test_one_clean_failure_gets_a_second_try(monkeypatch: pytest.MonkeyPatch) -> None:
    rate, runs = await ladder(
        monkeypatch,
        {1000: [(30.0, 0.0), (3.0, 0.0)], 1200: [(3.0, 0.0)], 1400: [(3.0, 0.0)]},
    )
    assert rate == 1400
    assert runs == [1000, 1000, 1200, 1400]


async def test_a_collapse_counts_even_under_steal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages that stop arriving are the server's doing, whatever the host took."""
    rate, runs = await ladder(
        monkeypatch,
        {1000: [(3.0, 0.0)], 1200: [(5000.0, 0.2), (5000.0, 0.2)], 1400: []},
    )
    assert rate == 1000
    assert runs == [1000, 1200, 1200]


def test_the_hub_quantile_interpolates_within_its_bucket() -> None:
    """As Prometheus's histogram_quantile: linear inside the bucket, the last finite
    bound for a rank beyond every bound, and 0 for an empty window."""
    inf = float("inf")
    assert scenarios._quantile([(0.001, 50), (0.002, 100), (inf, 100)], 0.5) == 0.001
    assert scenarios._quantile([(0.001, 50), (0.002, 100), (inf, 100)], 0.75) == 0.0015
    assert scenarios._quantile([(0.001, 0), (0.002, 98), (inf, 100)], 0.99) == 0.002
    assert scenarios._quantile([(0.001, 0), (0.002, 0), (inf, 0)], 0.99) == 0.0
    before = [(0.001, 5), (0.002, 7), (inf, 8)]
    after = [(0.001, 9), (0.002, 20), (inf, 21)]
    assert scenarios._delta(after, before) == [(0.001, 4), (0.002, 13), (inf, 13)]
