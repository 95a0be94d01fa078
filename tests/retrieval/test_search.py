"""The searcher on a real (small) snapshot: ranking, spans, no overlap, caps and odd questions."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.records import ArticleRecord
from retrieval.rerank import RerankParams
from retrieval.search import MAX_QUESTION_CHARS, Searcher
from retrieval.snapshot import build_snapshot, load_snapshot
from retrieval.store import ArticleStore

FILLER = "The valley has farms, roads and small villages along the old trade route. " * 3

ARTICLES = [
    ArticleRecord(
        "Danube",
        "Danube",
        "The Danube is the second-longest river in Europe. It flows through ten countries.\n\n"
        + FILLER
        + "\n\nThe river delta is a reserve for pelicans and other birds.",
        None,
    ),
    ArticleRecord(
        "Kyiv",
        "Kyiv",
        "Kyiv is the capital of Ukraine. It stands on the Dnieper river.\n\n"
        + FILLER
        + "\n\nThe Golden Gate of Kyiv was built in the eleventh century.",
        None,
    ),
    ArticleRecord(
        "Lviv",
        "Lviv",
        "Lviv is a city in western Ukraine, famous for its coffee houses.\n\n"
        "The old town of Lviv is a World Heritage Site with churches of many styles.",
        None,
    ),
    ArticleRecord("Empty", "Empty", "   ", None),
]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("search")
    store = ArticleStore(f"sqlite:///{root / 'store.db'}")
    store.upsert(ARTICLES, source="test")
    build_snapshot(store, root / "snapshots", source_url="https://wiki.example/")
    store.close()
    return load_snapshot(root / "snapshots")


@pytest.fixture(scope="module")
def searcher(snapshot) -> Searcher:
    return Searcher(snapshot)


def test_best_passage_answers_the_question(searcher: Searcher) -> None:
    hits = searcher.search("Which river flows through ten countries?", k=3)
    assert hits[0].article_id == "Danube"
    assert "ten countries" in hits[0].text
    assert hits[0].title == "Danube"
    assert hits[0].link.startswith("https://wiki.example/")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_spans_cover_the_matched_words(searcher: Searcher) -> None:
    hit = searcher.search("When was the Golden Gate built?", k=1)[0]
    marked = [hit.text[s:e] for s, e in hit.spans]
    assert {"Golden", "Gate", "built"} <= set(marked)
    assert all(word.casefold() not in {"when", "was", "the"} for word in marked)


def test_sentences_and_offsets_locate_the_quote(searcher: Searcher) -> None:
    hit = searcher.search("pelicans delta", k=1)[0]
    article = next(a.article for a in ARTICLES if a.article_id == hit.article_id)
    assert article[hit.start : hit.end] == hit.text
    assert all(0 <= s < e <= len(hit.text) for s, e in hit.sentences)


def test_title_takes_part_in_matching(searcher: Searcher) -> None:
    # "pelicans" is only in the Danube body; "Danube" is in its title and first passage only.
    hits = searcher.search("Danube pelicans", k=1)
    assert "pelicans" in hits[0].text


def test_no_two_hits_quote_overlapping_text(searcher: Searcher) -> None:
    hits = searcher.search("river valley farms Kyiv Ukraine Lviv city old", k=20)
    assert len({h.passage_id for h in hits}) == len(hits)
    for i, a in enumerate(hits):
        for b in hits[i + 1 :]:
            assert a.article_id != b.article_id or a.end <= b.start or b.end <= a.start


def test_per_article_cap(searcher: Searcher) -> None:
    hits = searcher.search("river valley farms Kyiv Ukraine Lviv city old", k=20, per_article=1)
    ids = [h.article_id for h in hits]
    assert len(ids) == len(set(ids)) >= 2


@pytest.mark.parametrize("question", ["", "   ", "what is the?", "zzzqqq xyzzy", "!!! ???"])
def test_questions_without_usable_terms_give_no_hits(searcher: Searcher, question: str) -> None:
    assert searcher.search(question) == []


def test_ten_thousand_character_question_is_cut_and_answered(searcher: Searcher) -> None:
    question = "Where do pelicans live? " + "x" * 10_000
    hits = searcher.search(question, k=2)
    assert hits and "pelicans" in hits[0].text
    ids, _ = searcher.query_terms("word " * 5000)
    assert len(ids) <= 1
    # Terms past the cut do not count.
    assert searcher.search("x" * MAX_QUESTION_CHARS + " pelicans") == []


def test_k_zero_or_negative_gives_nothing(searcher: Searcher) -> None:
    assert searcher.search("Kyiv", k=0) == []


def test_longer_pages_extend_the_same_ranking(searcher: Searcher) -> None:
    question = "river city Ukraine old"
    first = searcher.search(question, k=3)
    longer = searcher.search(question, k=30)
    assert [h.passage_id for h in longer[:3]] == [h.passage_id for h in first]
    assert len(longer) >= len(first)


def test_without_reranking_order_is_bm25(snapshot) -> None:
    plain = Searcher(snapshot, rerank=RerankParams(sentence=0, proximity=0, coverage=0, pair=0, article=0))
    ids, _ = plain.query_terms("river city Ukraine")
    pids, _ = snapshot.first_stage(ids, 5)
    assert [h.passage_id for h in plain.search("river city Ukraine", k=5)] == [
        int(p) for p in np.asarray(pids)
    ]
