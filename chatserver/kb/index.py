"""An in-memory BM25 index of one language's articles, with typo tolerance.

Pure and synchronous (``analyzer.py`` makes the terms). Both store backends load the same
articles into the same index, so a search gives the same answer on SQLite and PostgreSQL.

- **Ranking**: BM25 over three fields weighted as one (title 3, tags 2, body 1; the
  "BM25F-lite" of summing weighted term frequencies and lengths).
- **Typos**: a query word none of whose terms are indexed is replaced by two indexed words
  it runs together ("freespins"), or else by the indexed words within one edit (two for
  words of eight letters or more), found through a table of every word with one letter
  deleted (the SymSpell idea), at a lower weight.
- **Changes** are incremental: adding or removing an article touches only its own terms;
  document-length norms are recomputed at the next search after a change.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from .analyzer import analyze

__all__ = ["FIELD_WEIGHTS", "Hit", "Index", "edit_distance"]

FIELD_WEIGHTS = {"title": 3.0, "tags": 2.0, "body": 1.0}
K1 = 1.2
B = 0.75
TYPO_WEIGHT = 0.6
MAX_QUERY_WORDS = 64
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True, slots=True)
class Hit:
    id: str
    score: float
    snippet: str


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours is one edit), or ``limit + 1``
    as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class _Doc:
    __slots__ = ("id", "slot", "topic", "length", "terms", "words", "sentences")

    def __init__(
        self,
        doc_id: str,
        slot: int,
        topic: str | None,
        terms: dict[str, float],
        words: Counter[str],
        sentences: list[tuple[str, frozenset[str]]],
    ) -> None:
        self.id = doc_id
        self.slot = slot
        self.topic = topic
        self.terms = terms  # term -> weighted frequency
        self.length = sum(terms.values())
        self.words = words  # folded word -> count, for the typo vocabulary
        self.sentences = sentences  # the body's sentences with their terms


class Index:
    """The articles of one ``locale``: ``add``, ``remove``, ``search``.

    Not thread-safe: the caller runs every call on one thread (the server's search pool).
    """

    def __init__(
        self,
        locale: str,
        *,
        analyzer: Callable[[str, str], Iterator[tuple[str, str]]] = analyze,
        typos: bool = True,
    ) -> None:
        # (another analyzer, or no typo tolerance: bench/kb.py --compare measures them)
        self.locale = locale
        self.analyze = analyzer
        self.typos = typos
        self._docs: dict[str, _Doc] = {}
        self._slots: list[_Doc | None] = []  # slot -> document (a removed one leaves a hole)
        self._free: list[int] = []
        self._postings: dict[str, dict[int, float]] = defaultdict(dict)  # term -> slot -> tf
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # compiled postings
        self._total_length = 0.0
        self._norms: np.ndarray | None = None
        self._masks: dict[str, np.ndarray] = {}  # topic -> 1.0 for its slots
        self._word_terms: dict[str, tuple[str, ...]] = {}
        self._word_count: Counter[str] = Counter()
        self._deletes: dict[str, set[str]] = defaultdict(set)

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._docs

    def add(self, doc_id: str, fields: Mapping[str, str], topic: str | None = None) -> None:
        """Index (or re-index) an article; ``fields`` are plain text by FIELD_WEIGHTS name."""
        self.remove(doc_id)
        terms: defaultdict[str, float] = defaultdict(float)
        words: Counter[str] = Counter()
        sentences: list[tuple[str, frozenset[str]]] = []
        for name, text in fields.items():
            weight = FIELD_WEIGHTS[name]
            # the body sentence by sentence: each sentence's terms pick the snippet later
            parts = _SENTENCE.split(text) if name == "body" else [text]
            for part in parts:
                seen = set()
                for word, term in self.analyze(part, self.locale):
                    terms[term] += weight
                    words[word] += 1
                    seen.add(term)
                    if word not in self._word_terms:
                        self._word_terms[word] = tuple(
                            t for _, t in self.analyze(word, self.locale)
                        )
                if name == "body" and part.strip():
                    sentences.append((part.strip(), frozenset(seen)))
        slot = self._free.pop() if self._free else len(self._slots)
        doc = _Doc(doc_id, slot, topic, terms, words, sentences)
        if slot == len(self._slots):
            self._slots.append(doc)
        else:
            self._slots[slot] = doc
        self._docs[doc_id] = doc
        for term, tf in terms.items():
            self._postings[term][slot] = tf
            self._arrays.pop(term, None)
        self._total_length += doc.length
        for word in words:
            if self._word_count[word] == 0:
                for deleted in _deletes(word) | {word}:
                    self._deletes[deleted].add(word)
            self._word_count[word] += 1
        self._norms = None
        self._masks.clear()

    def remove(self, doc_id: str) -> None:
        doc = self._docs.pop(doc_id, None)
        if doc is None:
            return
        self._slots[doc.slot] = None
        self._free.append(doc.slot)
        for term in doc.terms:
            posting = self._postings[term]
            posting.pop(doc.slot, None)
            self._arrays.pop(term, None)
            if not posting:
                del self._postings[term]
        self._total_length -= doc.length
        for word in doc.words:
            self._word_count[word] -= 1
            if self._word_count[word] <= 0:
                del self._word_count[word]
                self._word_terms.pop(word, None)
                for deleted in _deletes(word) | {word}:
                    bucket = self._deletes.get(deleted)
                    if bucket is not None:
                        bucket.discard(word)
                        if not bucket:
                            del self._deletes[deleted]
        self._norms = None
        self._masks.clear()

    def _query_terms(self, query: str) -> dict[str, float]:
        """term -> weight of the query, typos replaced by the nearest indexed words."""
        wanted: dict[str, float] = {}
        by_word: dict[str, list[str]] = {}
        for word, term in self.analyze(query, self.locale):
            by_word.setdefault(word, []).append(term)
            if len(by_word) > MAX_QUERY_WORDS:
                break
        for word, terms in by_word.items():
            if any(t in self._postings for t in terms) or len(word) < 4 or not self.typos:
                for t in terms:
                    wanted[t] = max(wanted.get(t, 0.0), 1.0)
                continue
            for near in self._split(word) or self._near(word):
                for t in self._word_terms.get(near, ()):
                    wanted[t] = max(wanted.get(t, 0.0), TYPO_WEIGHT)
        return wanted

    def _split(self, word: str) -> list[str]:
        """Two indexed words written as one ("freespins", "cashout"), if there are."""
        for i in range(3, len(word) - 2):
            left, right = word[:i], word[i:]
            if self._word_count.get(left) and self._word_count.get(right):
                return [left, right]
        return []

    def _near(self, word: str) -> list[str]:
        """Indexed words within the allowed edits of ``word``, nearest (then commonest) first."""
        limit = 1 if len(word) < 8 else 2
        found: set[str] = set()
        for deleted in _deletes(word) | {word}:
            found |= self._deletes.get(deleted, set())
        scored = []
        for cand in found:
            d = edit_distance(word, cand, limit)
            if d <= limit:
                scored.append((d, -self._word_count[cand], cand))
        scored.sort()
        best = [c for d, _, c in scored if d == scored[0][0]] if scored else []
        return best[:3]

    def _doc_norms(self) -> np.ndarray:
        if self._norms is None:
            # (articles of no searchable words have length 0: never divide by it)
            avg = self._total_length / len(self._docs) if self._docs else 0.0
            avg = avg if avg > 0 else 1.0
            lengths = np.array([d.length if d else avg for d in self._slots], dtype=np.float64)
            self._norms = K1 * (1 - B + B * lengths / avg)
        return self._norms

    def prepare(self) -> None:
        """Compile what changed (term arrays, length norms) now, so the next search need not."""
        self._doc_norms()
        for term in self._postings:
            self._posting(term)

    def _topic_mask(self, topic: str) -> np.ndarray:
        mask = self._masks.get(topic)
        if mask is None:
            mask = self._masks[topic] = np.array(
                [1.0 if d is not None and d.topic == topic else 0.0 for d in self._slots]
            )
        return mask

    def _posting(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        compiled = self._arrays.get(term)
        if compiled is None:
            posting = self._postings.get(term)
            if not posting:
                return None
            slots = np.fromiter(posting.keys(), dtype=np.int64, count=len(posting))
            tfs = np.fromiter(posting.values(), dtype=np.float64, count=len(posting))
            compiled = self._arrays[term] = (slots, tfs)
        return compiled

    def search(self, query: str, limit: int = 10, topic: str | None = None) -> list[Hit]:
        """The best ``limit`` articles for ``query`` (optionally of one topic), best first."""
        wanted = self._query_terms(query)
        if not wanted or not self._docs:
            return []
        norms = self._doc_norms()
        n = len(self._docs)
        scores = np.zeros(len(self._slots), dtype=np.float64)
        for term, weight in wanted.items():
            posting = self._posting(term)
            if posting is None:
                continue
            slots, tfs = posting
            idf = weight * math.log(1 + (n - len(slots) + 0.5) / (len(slots) + 0.5))
            scores[slots] += idf * tfs * (K1 + 1) / (tfs + norms[slots])
        if topic is not None:
            scores *= self._topic_mask(topic)
        found = np.flatnonzero(scores > 0)
        if len(found) > limit:
            found = found[np.argpartition(-scores[found], limit - 1)[:limit]]
        ranked = sorted(
            ((float(scores[slot]), self._slots[slot]) for slot in found),
            key=lambda item: (-item[0], item[1].id if item[1] else ""),
        )
        return [
            Hit(doc.id, round(score, 4), self._snippet(doc.id, wanted))
            for score, doc in ranked
            if doc is not None
        ]

    def _snippet(self, doc_id: str, wanted: Mapping[str, float], size: int = 180) -> str:
        """The body's sentence with the most query terms, cut to ``size`` characters."""
        best, best_hits = "", -1
        for sentence, terms in self._docs[doc_id].sentences:
            hits = sum(1 for t in wanted if t in terms)
            if hits > best_hits:
                best, best_hits = sentence, hits
        return best if len(best) <= size else best[: size - 1].rstrip() + "…"

    def ids(self) -> Iterable[str]:
        return self._docs.keys()
