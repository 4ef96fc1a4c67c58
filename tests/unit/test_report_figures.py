"""Report figures from rollups: what a chat and a rating add, percentiles from buckets."""

from __future__ import annotations

from datetime import date

from chatserver.reports.figures import (
    ChatFacts,
    as_csv,
    build_report,
    chat_delta,
    rating_delta,
    wait_percentile,
)


def test_what_a_chat_adds() -> None:
    answered = ChatFacts(100.0, 130.0, 140.0, 400.0, offline=False, resolution="resolved")
    assert chat_delta(answered) == {
        "chats": 1, "answered": 1, "wait_sum": 30.0, "handle_sum": 270.0, "w2": 1,
        "frt_sum": 10.0, "frt_n": 1, "resolved": 1,
    }  # fmt: skip
    assert chat_delta(ChatFacts(0, None, None, 5, offline=True, resolution=None)) == {
        "chats": 1, "offline": 1,
    }  # fmt: skip
    assert chat_delta(ChatFacts(0, None, None, 5, offline=False, resolution=None)) == {
        "chats": 1, "abandoned": 1,
    }  # fmt: skip


def test_a_replaced_rating_moves_the_counts() -> None:
    assert rating_delta((None, None, None), (5, True, 10)) == {
        "rated": 1, "rating_sum": 5, "satisfied": 1, "said_resolved": 1, "nps_n": 1,
        "promoters": 1,
    }  # fmt: skip
    assert rating_delta((5, True, 10), (2, False, 3)) == {
        "rating_sum": -3, "satisfied": -1, "said_resolved": -1, "promoters": -1,
        "detractors": 1,
    }  # fmt: skip
    assert rating_delta((4, False, None), (4, False, 8)) == {"nps_n": 1}  # a passive


def test_percentiles_from_buckets() -> None:
    assert wait_percentile([0] * 8, 0.5) == (None, False)
    assert wait_percentile([5, 0, 5, 4, 6, 0, 0, 0], 0.5) == (60, False)
    assert wait_percentile([5, 0, 5, 4, 6, 0, 0, 0], 0.9) == (300, False)
    assert wait_percentile([1, 0, 0, 0, 0, 0, 0, 9], 0.5) == (1800, True)


def test_a_report_from_summed_rows_and_csv() -> None:
    """Every day of the span is in the series; CSV tables have a header row."""
    row = {"chats": 2, "answered": 2, "w0": 2, "rated": 1, "rating_sum": 4, "satisfied": 1}
    report = build_report(
        [{"day": "2026-09-23", **row}], [{"hod": 1, "chats": 2}],
        [{"agent_id": 7, **row}], [{"reason": "under_age", "refused": 3}],
        agent_names={7: "Ayşe"}, span=(date(2026, 9, 22), date(2026, 9, 24)),
    )  # fmt: skip
    assert [(d["day"], d["chats"]) for d in report["days"]] == [
        ("2026-09-22", 0), ("2026-09-23", 2), ("2026-09-24", 0),
    ]  # fmt: skip
    assert report["hours_of_day"][1] == 2 and report["totals"]["csat"] == 1.0
    assert report["agents"][0]["agent"] == "Ayşe" and report["refusals"] == {"under_age": 3}
    lines = as_csv(report, "days").splitlines()
    assert lines[0].startswith("day,chats,offline,answered") and lines[2].startswith("2026-09-23,2")
    assert as_csv(report, "refusals").splitlines() == ["reason,refused", "under_age,3"]
