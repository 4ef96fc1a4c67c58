"""The knowledge base's analyzer and index: each Turkish rule, typos, ranking, changes."""

from __future__ import annotations

import pytest

from chatserver.kb.analyzer import fold, terms_of, tokens
from chatserver.kb.index import Index, edit_distance

ARTICLES = {
    "cekim": ("Para çekme talebim ne zaman gelir?", "Çekim talepleri sırayla onaylanır."),
    "yatirim": ("Yatırdığım para hesabıma geçmedi", "Yatırımınız 30 dakikada bakiyenize geçer."),
    "bonus": ("Bonus çevrim şartları", "Bonusunuzun çevrim şartını tamamlamalısınız."),
    "iptal": ("İPTAL ve IRMAK", "Büyük harfle yazılmış başlık."),
    "spins": ("Free spins", "Use your free spins on the named slot."),
}


def tr_index() -> Index:
    index = Index("tr")
    for doc_id, (title, body) in ARTICLES.items():
        index.add(doc_id, {"title": title, "body": body}, topic="payments")
    return index


def top(index: Index, query: str) -> str | None:
    hits = index.search(query)
    return hits[0].id if hits else None


def test_turkish_case_folding() -> None:
    """İ lowers to i and I to ı, so capitals match lower-case words either way."""
    assert tokens("İPTAL IRMAK") == ["iptal", "ırmak"]
    assert fold("İSTANBUL ılık") == "istanbul ilik"
    assert top(tr_index(), "iptal") == "iptal"
    assert top(tr_index(), "ırmak") == "iptal"


@pytest.mark.parametrize(
    ("query", "expected"),
    [("cekme talebim", "cekim"), ("yatirdigim para gecmedi", "yatirim"), ("cevrim sarti", "bonus")],
)
def test_diacritics_insensitive(query: str, expected: str) -> None:
    """Words typed without ç, ğ, ı, ö, ş, ü find the words with them."""
    assert top(tr_index(), query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [("çekimim", "cekim"), ("yatırdığımı", "yatirim"), ("bonusumu", "bonus")],
)
def test_suffixes(query: str, expected: str) -> None:
    """Inflected forms find the article: stems and five-letter prefixes."""
    assert top(tr_index(), query) == expected


def test_terms_of_a_word_ignore_stop_words() -> None:
    """Stop words give no terms; a Turkish word gives a stem and a prefix."""
    assert terms_of("ve", "tr") == ()
    assert terms_of("çekimim", "tr") == ("s:cek", "p:cekim")


@pytest.mark.parametrize(
    ("query", "expected"),
    [("bonsu", "bonus"), ("yatirmim", "yatirim"), ("freespins", "spins"), ("fre spnis", "spins")],
)
def test_typos(query: str, expected: str) -> None:
    """A word one or two edits away, or two words run together, still finds the article."""
    index = tr_index()
    assert top(index, query) == expected


def test_edit_distance_counts_a_swap_as_one() -> None:
    assert edit_distance("spnis", "spins", 2) == 1
    assert edit_distance("kitten", "sitting", 2) == 3


def test_ranking_prefers_the_title_and_rare_words() -> None:
    """BM25: a word in the title outranks the same word in another article's body."""
    index = Index("en")
    index.add("a", {"title": "Withdrawal limits", "body": "Limits per day."})
    index.add("b", {"title": "Deposits", "body": "A withdrawal is not a deposit."})
    assert [h.id for h in index.search("withdrawal")] == ["a", "b"]


def test_topic_filter_changes_and_snippets() -> None:
    """Removing or replacing an article updates the results; snippets come from the body."""
    index = Index("en")
    index.add("a", {"title": "Bonus", "body": "First. The bonus wagering is 10x."}, topic="bonus")
    index.add("b", {"title": "Bonus money", "body": "Other."}, topic="payments")
    assert {h.id for h in index.search("bonus", topic="bonus")} == {"a"}
    hit = index.search("wagering")[0]
    assert (hit.id, hit.snippet) == ("a", "The bonus wagering is 10x.")
    index.remove("a")
    assert [h.id for h in index.search("bonus")] == ["b"]
    assert index.search("wagering") == []
    index.add("b", {"title": "Something else", "body": "No match."}, topic="payments")
    assert index.search("bonus") == [] and len(index) == 1


def test_search_and_empty_queries() -> None:
    """Only stop words, or nothing, give no results rather than everything."""
    index = tr_index()
    assert index.search("ve ile bir") == []
    assert index.search("") == []
    assert Index("tr").search("bonus") == []


def test_an_article_without_searchable_words() -> None:
    """Only stop words or one-letter words: indexed, found by nothing, and breaks nothing."""
    index = Index("tr")
    index.add("a", {"title": "T", "body": "ve b"})
    index.prepare()
    assert index.search("bonus") == [] and len(index) == 1
