"""The sample knowledge base answers the evaluation questions well enough (bench/kb.py):
a change to the analyzer or the ranking that makes answers worse fails here."""

from __future__ import annotations

import pytest

from bench.kb import SAMPLE, build, evaluate, load_eval
from chatserver.kb.folder import read_folder


@pytest.mark.parametrize("locale", ["tr", "en"])
def test_top3_of_the_evaluation_set(locale: str) -> None:
    """At least 100 questions per language; the right article in the top three for 85%."""
    pairs = load_eval(locale)
    assert len(pairs) >= 100
    result = evaluate(build(read_folder(SAMPLE), locale), pairs)
    assert result["top3"] >= 0.85, result["misses"]
    assert {want for want, _ in pairs} == {
        a.id for a in read_folder(SAMPLE) if a.locale == locale
    }  # every article is asked about
