"""A reindex reads the store in one read transaction: an ingest that commits while it reads lands
wholly in the next reindex, never partly in this one (SQLite, MariaDB and PostgreSQL)."""

from __future__ import annotations

from itertools import islice

from retrieval.storage.articles import ArticleStore
from retrieval.storage.records import ArticleRecord


def rec(article_id: str, body: str) -> ArticleRecord:
    return ArticleRecord(article_id=article_id, title=article_id, article=body, img_url="", origin="src:1")


def test_an_ingest_committed_mid_read_is_invisible_to_that_read(store_url: str) -> None:
    store = ArticleStore(store_url)
    store.upsert([rec(f"a{i}", f"Old body {i}.") for i in range(1, 8)], source="first")
    writer = ArticleStore(store_url)  # another process's store: its own engine and connections
    try:
        with store.reading() as read:
            articles = read.articles(batch_size=2)
            first = list(islice(articles, 3))  # two pages read, a1..a3 seen
            assert [a.article_id for a in first] == ["a1", "a2", "a3"]

            # An earlier article updated, a later one (not read yet) updated, a new one added.
            changes = [rec("a1", "New body 1."), rec("a6", "New body 6."), rec("a8", "New body 8.")]
            counts = writer.upsert(changes, source="second")
            assert (counts.new, counts.updated) == (1, 2)

            rest = list(articles)
            assert read.counts() == (7, 0)
        seen = {a.article_id: a.article for a in [*first, *rest]}
        assert seen == {f"a{i}": f"Old body {i}." for i in range(1, 8)}

        with store.reading() as again:
            now = {a.article_id: a.article for a in again.articles(batch_size=2)}
        assert now["a1"] == "New body 1." and now["a6"] == "New body 6." and now["a8"] == "New body 8."
        assert len(now) == 8
    finally:
        writer.close()
        store.close()
