"""Text to search terms, the same way for articles and for what players type.

Pure and synchronous. Turkish first:

- **Case**: ``I`` lowers to ``ı`` and ``İ`` to ``i`` (Turkish rules), so "İPTAL" and "iptal"
  are one word.
- **Diacritics**: every term is folded to plain letters (ç→c, ğ→g, ı→i, ö→o, ş→s, ü→u, and
  any other accent dropped): "cekme" finds "çekme", because players often type without them.
- **Suffixes**: Turkish is agglutinative ("çekimim", "yatırdığım", "bonusumu"). A token gives
  two terms: its Snowball stem (taken on the word with its diacritics, then folded) and its
  first five folded letters. Five-letter prefixes are a known strong stemmer for Turkish
  retrieval and also work when the player typed without diacritics, where the stemmer cannot
  see the suffixes. English tokens give their Snowball (Porter 2) stem.
- **Stop words** of each language are dropped.

Typos are handled by the index (``index.py``), which knows the vocabulary.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]

__all__ = ["LOCALES", "PREFIX", "analyze", "fold", "lower", "terms_of", "tokens"]

LOCALES = ("tr", "en")
PREFIX = 5  # letters of a Turkish word's prefix term

_FOLD = str.maketrans(
    {"ç": "c", "ğ": "g", "ı": "i", "ö": "o", "ş": "s", "ü": "u", "â": "a", "î": "i", "û": "u"}
)
_WORD = re.compile(r"[^\W_]+")

# Stop words, folded. Question words and fillers players type around what they ask.
_STOP = {
    "tr": frozenset(
        """acaba ama ancak artik bana bazi ben beni benim bir biraz biz bize bizim bu bunu buna
        cok da daha de degil diye en gibi hala hep hic icin ile ise kadar ki mi mu ne neden
        nasil niye o olan olarak olsun on sen seni senin siz size sizin su sunu ve veya ya yani
        yine merhaba selam lutfen tesekkur tesekkurler iyi gunler rica ederim acil hemen simdi
        sey""".split()
    ),
    "en": frozenset(
        """a an and are as at be been but by can could did do does for from had has have how i
        if in is it its me my of on or our please so that the their there this to was we what
        when where which who why will with would you your hi hello thanks thank am im dont
        just still""".split()
    ),
}

_STEMMERS: dict[str, snowballstemmer.stemmer] = {}


def lower(text: str) -> str:
    """Lower case by Turkish rules (``I`` → ``ı``, ``İ`` → ``i``)."""
    return text.replace("İ", "i").replace("I", "ı").lower()


def fold(text: str) -> str:
    """Lower case without diacritics: the form every term is compared in."""
    text = lower(text).translate(_FOLD)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """The words of ``text``, lower-cased by Turkish rules, diacritics kept."""
    return _WORD.findall(lower(text))


def _stemmer(locale: str) -> snowballstemmer.stemmer:
    stemmer = _STEMMERS.get(locale)
    if stemmer is None:
        stemmer = _STEMMERS[locale] = snowballstemmer.stemmer(
            "turkish" if locale == "tr" else "english"
        )
    return stemmer


@lru_cache(maxsize=65536)
def terms_of(word: str, locale: str) -> tuple[str, ...]:
    """The terms one lower-cased word stands for in ``locale`` (empty for a stop word)."""
    folded = fold(word)
    if len(folded) < 2 or folded in _STOP.get(locale, ()):
        return ()
    if folded.isdigit():
        return (folded,)
    if locale == "tr":
        stem = fold(_stemmer("tr").stemWord(word))
        prefix = folded[:PREFIX]
        # terms are tagged so a stem never meets a prefix by accident
        return (f"s:{stem}", f"p:{prefix}")
    return (f"s:{_stemmer('en').stemWord(folded)}",)


def analyze(text: str, locale: str) -> Iterator[tuple[str, str]]:
    """(folded word, term) for every term of ``text``, in order."""
    for word in tokens(text):
        folded = None
        for term in terms_of(word, locale):
            if folded is None:
                folded = fold(word)
            yield folded, term
