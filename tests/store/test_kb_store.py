"""The knowledge base in the store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from chatserver.kb.articles import Article
from chatserver.store import Store


async def test_articles_saved_replaced_voted_deleted(store: Store) -> None:
    """Save is an upsert that keeps votes; drafts are left out of published reads."""
    a = Article(id="a", locale="tr", title="Çekim", body="Gövde\n", topic="payments", tags=["ç"])
    b = Article(id="b", locale="en", title="Draft", body="x\n", published=False)
    await store.kb_save([a, b], now=10.0, by="editor")
    assert await store.kb_vote("a", True) and await store.kb_vote("a", False)
    assert not await store.kb_vote("nope", True)
    await store.kb_save([Article(id="a", locale="tr", title="Yeni", body="")], now=20.0, by="x")
    got = await store.kb_article("a")
    assert got is not None
    assert (got.title, got.topic, got.tags, got.updated_at, got.updated_by) == (
        "Yeni", None, [], 20.0, "x",
    )  # fmt: skip
    assert (got.helpful, got.unhelpful) == (1, 1)
    assert [x.id for x in await store.kb_articles()] == ["a", "b"]
    assert [x.id for x in await store.kb_articles(published_only=True)] == ["a"]
    assert await store.kb_delete("b") and not await store.kb_delete("b")
    assert await store.kb_article("b") is None


async def test_outcomes_and_misses_are_counted_since_a_time(store: Store) -> None:
    for at, outcome in [(5.0, "self_served"), (15.0, "self_served"), (16.0, "needed_agent")]:
        await store.kb_outcome(
            at=at, topic="payments", locale="tr", article_id="a", outcome=outcome
        )
    await store.kb_outcome(
        at=17.0, topic=None, locale="en", article_id=None, outcome="needed_agent"
    )
    for q in ["kripto", "kripto", "papara"]:
        await store.kb_miss(at=12.0, locale="tr", query=q)
    stats = await store.kb_stats(10.0)
    assert stats.outcomes == {
        "payments": {"self_served": 1, "needed_agent": 1},
        "": {"needed_agent": 1},
    }
    assert stats.self_served_share("payments") == 0.5 and stats.self_served_share("x") is None
    assert stats.misses == [("tr", "kripto", 2), ("tr", "papara", 1)]


async def test_a_reload_reindexes_only_what_changed(store: Store) -> None:
    """Another process changes one article: the refresh re-indexes (and renders again)
    that one, drops the one deleted, and keeps the rest as indexed."""
    from chatserver.kb.service import KnowledgeBase
    from chatserver.pools import BoundedPool

    pool = BoundedPool("search", 1, 4)
    kb = KnowledgeBase(store, pool, ["payments"])
    same = Article(id="same", locale="tr", title="Çekim süresi", body="Çekimler onaylanır.\n")
    edited = Article(id="edited", locale="tr", title="Bonus", body="Çevrim şartı.\n")
    gone = Article(id="gone", locale="en", title="Deposit", body="Deposits.\n")
    await store.kb_save([same, edited, gone], now=1.0, by="import")
    await kb.load()
    kept = kb.indexes["tr"]._docs["same"]
    assert await kb.html(kb.published["edited"]) == "<p>Çevrim şartı.</p>\n"
    await store.kb_save([Article(id="edited", locale="tr", title="Bonus", body="Yeni.\n")],
                        now=2.0, by="import")  # fmt: skip
    await store.kb_delete("gone")
    await store.kb_vote("same", True)
    await kb.load()
    assert kb.indexes["tr"]._docs["same"] is kept  # not indexed again
    assert [h.id for h in await kb.search("yeni", count=False)] == ["edited"]
    assert await kb.html(kb.published["edited"]) == "<p>Yeni.</p>\n"  # not the old rendering
    assert "gone" not in kb.published and len(kb.indexes["en"]) == 0
    assert kb.published["same"].helpful == 1  # its record is the store's latest
    pool.close()
