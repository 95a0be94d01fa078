"""The article store: upsert semantics and transactions, on every backend."""

from __future__ import annotations

import pytest

from retrieval.errors import SourceError
from retrieval.storage.articles import ArticleStore
from retrieval.storage.records import ArticleRecord
from tests.retrieval.corpus_factory import stored_articles


def rec(
    article_id: str, body: str | None = "Body.", title: str | None = "T", img: str | None = ""
) -> ArticleRecord:
    return ArticleRecord(article_id=article_id, title=title, article=body, img_url=img, origin="src:1")


def test_upsert_counts_new_updated_unchanged_and_empty(store_url: str) -> None:
    store = ArticleStore(store_url)
    first = store.upsert([rec("a"), rec("b"), rec("c", body="")], source="first")
    assert (first.new, first.updated, first.unchanged, first.empty) == (3, 0, 0, 1)

    second = store.upsert([rec("a"), rec("b", body="Changed."), rec("d")], source="second")
    assert (second.new, second.updated, second.unchanged, second.empty) == (1, 1, 1, 0)
    assert store.counts() == (4, 1)
    store.close()


def test_values_are_stored_exactly_as_given(store_url: str) -> None:
    store = ArticleStore(store_url)
    text = "Line one\nline 'two' \\ with emoji 🇺🇦 and tab\t."
    store.upsert([rec("Київ", body=text, title=None, img=None), rec("x", body="", img="")], source="s")
    stored = {a.article_id: a for a in stored_articles(store)}
    assert stored["Київ"].article == text
    assert stored["Київ"].title is None and stored["Київ"].img_url is None
    assert stored["x"].article == "" and stored["x"].img_url == ""
    store.close()


def test_duplicate_article_id_in_one_source_rolls_back_the_source(store_url: str) -> None:
    store = ArticleStore(store_url)
    with pytest.raises(SourceError, match="appears twice"):
        store.upsert([rec("a"), rec("b"), rec("a")], source="dup.jsonl")
    assert store.counts() == (0, 0)
    store.close()


def test_duplicate_can_be_skipped_and_reported(store_url: str) -> None:
    store = ArticleStore(store_url)
    bad: list[SourceError] = []
    counts = store.upsert([rec("a"), rec("a", body="other")], source="dup", on_bad=bad.append)
    assert counts.new == 1 and counts.skipped == 1
    assert len(bad) == 1 and "line 1" in str(bad[0])
    store.close()


def test_reading_pages_through_everything_in_id_order(store_url: str) -> None:
    store = ArticleStore(store_url)
    store.upsert([rec(f"id{i:03d}") for i in range(25)], source="s")
    ids = [a.article_id for a in stored_articles(store, batch_size=7)]
    assert ids == [f"id{i:03d}" for i in range(25)]
    store.close()


def test_seen_keys_tell_recent_and_earlier_ids_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    from retrieval.storage.articles import SeenKeys

    monkeypatch.setattr(SeenKeys, "RECENT", 4)
    seen = SeenKeys()
    assert all(seen.add(f"id{i}") for i in range(5)) and not seen.add("id4")
    seen.settle()  # the five move to the sorted array
    assert seen.add("id0") and seen.add("new")  # not recent any more...
    assert seen.seen_before(["id0", "new", "id4", "other"]) == [True, False, True, False]


def test_a_duplicate_batches_apart_is_still_caught(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    import retrieval.storage.articles as store_module

    monkeypatch.setattr(store_module, "UPSERT_BATCH", 3)
    monkeypatch.setattr(store_module.SeenKeys, "RECENT", 2)
    store = ArticleStore(sqlite_url)
    bad: list[SourceError] = []
    records = [rec(f"id{i}") for i in range(10)] + [rec("id1"), rec("id10")]
    counts = store.upsert(records, source="s", on_bad=bad.append)
    assert (counts.new, counts.skipped) == (11, 1) and "'id1' appears twice" in str(bad[0])
    with pytest.raises(SourceError, match="'x0' appears twice"):
        store.upsert([rec(f"x{i}") for i in range(9)] + [rec("x0")], source="t")
    assert store.counts() == (11, 0)  # nothing of the second source
    store.close()
