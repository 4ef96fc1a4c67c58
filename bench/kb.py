"""Knowledge-base search: answer quality and speed. ``python -m bench.kb [--json out.json]``

Quality: every question of ``bench/kb_eval/<locale>.tsv`` (written as players type them:
typos, no diacritics, inflections, slang, two questions at once) is searched in the sample
knowledge base (``examples/kb``); top-1, top-3 and MRR of the article it belongs to.

Speed: the sample articles plus generated ones make 10,000 articles per language; every
question is searched over them once (the first pass after a build, reported apart: a server
prepares its arrays before it searches, ``Index.prepare``; this pass does not) and then five
more times, on one thread, and the latency percentiles reported next to a bare baseline
measured in the same run: one pass over every article's text for the question's longest word
(``str.__contains__``). No server is involved: this is the
index a server runs its searches on.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from chatserver.kb.analyzer import analyze
from chatserver.kb.articles import Article, plain_text
from chatserver.kb.folder import read_folder
from chatserver.kb.index import Index

__all__ = ["evaluate", "load_eval", "main"]

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "kb"
EVAL = Path(__file__).resolve().parent / "kb_eval"


def load_eval(locale: str) -> list[tuple[str, str]]:
    """(article id, question) pairs of one language."""
    pairs = []
    for line in (EVAL / f"{locale}.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            article_id, question = line.split("\t", 1)
            pairs.append((article_id, question))
    return pairs


def _only(kind: str) -> Callable[[str, str], Iterator[tuple[str, str]]]:
    """The analyzer keeping one kind of term: ``s`` (Snowball stems) or ``p`` (prefixes)."""

    def analyzer(text: str, locale: str) -> Iterator[tuple[str, str]]:
        for word, term in analyze(text, locale):
            if locale != "tr" or term.startswith(kind + ":"):
                yield word, term

    return analyzer


def _words(text: str, locale: str) -> Iterator[tuple[str, str]]:
    """Whole words, folded (no stemming): the plain baseline of the comparison."""
    for word, _ in analyze(text, locale):
        yield word, "w:" + word


# what the analyzer and the index were chosen over, measured on the same questions
VARIANTS: dict[str, dict[str, Any]] = {
    "shipped: stems + prefixes + typos": {},
    "folded whole words only": {"analyzer": _words, "typos": False},
    "Snowball stems only (Turkish)": {"analyzer": _only("s")},
    "five-letter prefixes only (Turkish)": {"analyzer": _only("p")},
    "stems + prefixes, no typo tolerance": {"typos": False},
}


def build(articles: list[Article], locale: str, **options: Any) -> Index:
    index = Index(locale, **options)
    for a in articles:
        if a.locale == locale:
            fields = {"title": a.title, "tags": " ".join(a.tags), "body": plain_text(a.body)}
            index.add(a.id, fields, a.topic)
    return index


def evaluate(index: Index, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    top1 = top3 = 0
    rr = 0.0
    misses = []
    for want, question in pairs:
        ids = [h.id for h in index.search(question, limit=10)]
        rank = ids.index(want) + 1 if want in ids else None
        top1 += rank == 1
        top3 += rank is not None and rank <= 3
        rr += 1 / rank if rank else 0.0
        if rank is None or rank > 3:
            misses.append({"question": question, "want": want, "got": ids[:3]})
    n = len(pairs)
    return {
        "questions": n,
        "top1": round(top1 / n, 3),
        "top3": round(top3 / n, 3),
        "mrr": round(rr / n, 3),
        "misses": misses,
    }


def generated(articles: list[Article], locale: str, count: int, seed: int = 7) -> list[Article]:
    """``count`` made-up articles from the sample's sentences and words, shuffled."""
    rng = random.Random(seed)
    mine = [a for a in articles if a.locale == locale]
    sentences = [s for a in mine for s in plain_text(a.body).split(". ") if s]
    words = [w for s in sentences for w in s.split()]
    out = []
    for i in range(count):
        body = ". ".join(rng.sample(sentences, 4)) + " " + " ".join(rng.sample(words, 20))
        title = " ".join(rng.sample(words, 6))
        out.append(
            Article(id=f"gen-{i}", locale=locale, title=title, body=body, tags=rng.sample(words, 3))
        )
    return out


def speed(articles: list[Article], locale: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    base = [a for a in articles if a.locale == locale]
    everything = base + generated(articles, locale, 10_000 - len(base))
    started = time.perf_counter()
    index = build(everything, locale)
    built = time.perf_counter() - started
    # the bare baseline: one pass over every article's text looking for the question's
    # longest word (str.__contains__, in C): what touching each article once costs
    texts = [f"{a.title} {' '.join(a.tags)} {plain_text(a.body)}".lower() for a in everything]
    # the first pass after a build also compiles each term's arrays: reported apart
    cold: list[float] = []
    for _, question in pairs:
        t0 = time.perf_counter()
        index.search(question, limit=10)
        cold.append((time.perf_counter() - t0) * 1000)
    cold.sort()
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(5):
        for _, question in pairs:
            t0 = time.perf_counter()
            index.search(question, limit=10)
            ours.append((time.perf_counter() - t0) * 1000)
            word = max(question.lower().split(), key=len)
            t0 = time.perf_counter()
            _ = [i for i, text in enumerate(texts) if word in text]
            bare.append((time.perf_counter() - t0) * 1000)
    ours.sort()
    bare.sort()

    def pct(times: list[float], p: float) -> float:
        return round(times[min(len(times) - 1, int(p * len(times)))], 3)

    return {
        "articles": len(index),
        "build_seconds": round(built, 2),
        "searches": len(ours),
        "p50_ms": pct(ours, 0.5),
        "p99_ms": pct(ours, 0.99),
        "max_ms": round(ours[-1], 3),
        "first_pass_p99_ms": pct(cold, 0.99),
        "bare_scan_p50_ms": pct(bare, 0.5),
        "bare_scan_p99_ms": pct(bare, 0.99),
        "p99_ratio": round(pct(ours, 0.99) / pct(bare, 0.99), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--misses", action="store_true", help="list the questions missed")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--compare", action="store_true", help="quality of other analyzers")
    args = parser.parse_args()
    articles = read_folder(SAMPLE)
    results: dict[str, Any] = {}
    for locale in ("tr", "en"):
        pairs = load_eval(locale)
        quality = evaluate(build(articles, locale), pairs)
        misses = quality.pop("misses")
        results[locale] = {"quality": quality}
        print(f"{locale}: {quality}")
        if args.misses:
            for m in misses:
                print("   ", m)
        if not args.no_speed:
            results[locale]["speed"] = fast = speed(articles, locale, pairs)
            print(f"{locale}: {fast}")
    if args.compare:
        results["compare"] = {}
        for name, options in VARIANTS.items():
            row = {}
            for locale in ("tr", "en"):
                got = evaluate(build(articles, locale, **options), load_eval(locale))
                row[locale] = {k: got[k] for k in ("top1", "top3", "mrr")}
            results["compare"][name] = row
            print(f"{name}: {row}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
