"""The BM25 engine: same scores as bm25s, same ranking as rank-bm25, exact per-passage token arrays."""

from __future__ import annotations

import random
from pathlib import Path

import bm25s
import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from retrieval.index.bm25 import BM25Params, assemble_csc, bm25_contributions, idf_values
from retrieval.index.build import build_snapshot
from retrieval.index.publish import load_snapshot
from retrieval.index.reader import Snapshot
from retrieval.storage.records import ArticleRecord
from retrieval.text.analysis import Analyzer
from tests.retrieval.corpus_factory import WORDS, fill_store, make_records

SOURCE = "https://en.wikipedia.org/wiki/{article_id}"


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 150-article corpus built once."""
    root = tmp_path_factory.mktemp("index")
    store = fill_store(f"sqlite:///{root / 'store.db'}", make_records(150))
    build_snapshot(store, root / "snapshots", source_url=SOURCE)
    store.close()
    return root / "snapshots"


def _queries(snapshot: Snapshot, count: int = 40) -> list[list[int]]:
    rng = random.Random(3)
    queries = []
    for _ in range(count):
        words = rng.sample(WORDS, rng.randint(1, 5))
        words.append(words[0]) if rng.random() < 0.3 else None  # some repeated terms
        queries.append(snapshot.index.term_ids(snapshot.analyzer.terms(" ".join(words))))
    return queries


def _same_up_to_ties(ids_a, scores_a, ids_b, scores_b, k: int = 10) -> None:
    """Top-k lists agree: equal scores rank by rank, and the passages differ only inside tied groups."""
    np.testing.assert_allclose(scores_a[:k], scores_b[:k], rtol=1e-4)
    cutoff = scores_a[min(k, len(scores_a)) - 1]
    clear_a = {int(p) for p, s in zip(ids_a[:k], scores_a[:k], strict=True) if s > cutoff * (1 + 1e-4)}
    clear_b = {int(p) for p, s in zip(ids_b[:k], scores_b[:k], strict=True) if s > cutoff * (1 + 1e-4)}
    assert clear_a == clear_b


def _bags(snapshot: Snapshot) -> list[list[str]]:
    analyzer = snapshot.analyzer
    return [
        analyzer.index_terms(p.title, p.text)
        for p in (snapshot.passages.get(i) for i in range(len(snapshot)))
    ]


def test_first_stage_scores_equal_bm25s_built_from_token_strings(corpus_dir: Path) -> None:
    snapshot = load_snapshot(corpus_dir)
    params = snapshot.params
    reference = bm25s.BM25(k1=params.k1, b=params.b, method=params.method)
    reference.index(_bags(snapshot), show_progress=False)
    for ids in _queries(snapshot):
        terms = [snapshot.index.vocab.term(i) for i in ids]
        expected = reference.get_scores(terms)
        got_ids, got_scores = snapshot.index.first_stage(ids, 10)
        order = np.argsort(-expected, kind="stable")[:10]
        _same_up_to_ties(got_ids, got_scores, order, expected[order])


def test_snapshot_index_folder_is_a_valid_bm25s_index(corpus_dir: Path) -> None:
    snapshot = load_snapshot(corpus_dir)
    model = bm25s.BM25.load(snapshot.info.path / "bm25s", mmap=True)
    for ids in _queries(snapshot, 10):
        expected = model.get_scores_from_ids(ids)
        got_ids, got_scores = snapshot.index.first_stage(ids, 10)
        np.testing.assert_allclose(expected[got_ids], got_scores, rtol=1e-5)


def test_rank_bm25_with_the_same_idf_gives_the_same_top10(corpus_dir: Path) -> None:
    """rank-bm25's ``BM25Okapi``, the reference implementation, over the same bags and with the
    snapshot's idf, ranks as the BM25 matrix does. (``BM25Okapi`` multiplies every score by
    ``k1 + 1``, but for ATIRE's variant: a constant that does not change the order, divided out.)"""
    snapshot = load_snapshot(corpus_dir)
    params, vocab = snapshot.params, snapshot.index.vocab
    okapi = BM25Okapi(_bags(snapshot), k1=params.k1, b=params.b)
    okapi.idf = {term: float(snapshot.index.idf[vocab[term]]) for term in okapi.idf}
    scale = 1.0 if params.method == "atire" else 1.0 / (params.k1 + 1.0)
    for ids in _queries(snapshot):
        scores = okapi.get_scores([vocab.term(i) for i in ids]) * scale
        order = np.argsort(-scores, kind="stable")[:10]
        _same_up_to_ties(*snapshot.index.first_stage(ids, 10), order, scores[order])


def test_repeated_query_term_counts_twice(corpus_dir: Path) -> None:
    snapshot = load_snapshot(corpus_dir)
    treaty, river = snapshot.index.vocab["treati"], snapshot.index.vocab["river"]
    once = dict(zip(*(a.tolist() for a in snapshot.index.first_stage([treaty, river], 1000)), strict=True))
    twice = dict(
        zip(*(a.tolist() for a in snapshot.index.first_stage([treaty, river, treaty], 1000)), strict=True)
    )
    only_treaty = dict(zip(*(a.tolist() for a in snapshot.index.first_stage([treaty], 1000)), strict=True))
    for pid, score in twice.items():
        assert score == pytest.approx(once[pid] + only_treaty.get(pid, 0.0), rel=1e-5)


def test_first_stage_returns_nothing_for_unknown_or_no_terms(corpus_dir: Path) -> None:
    snapshot = load_snapshot(corpus_dir)
    for ids in ([], [-1], [10**9]):
        pids, scores = snapshot.index.first_stage(ids, 10)
        assert pids.size == 0 and scores.size == 0
    assert snapshot.index.first_stage([snapshot.index.vocab["river"]], 0)[0].size == 0


def test_chunked_matrix_assembly_equals_single_chunk() -> None:
    rng = np.random.default_rng(1)
    nnz = rng.integers(0, 6, size=300).astype(np.int32)
    terms = np.concatenate([np.sort(rng.choice(40, size=n, replace=False)) for n in nnz]).astype(np.int32)
    tfs = rng.integers(1, 4, size=terms.size).astype(np.uint16)
    doc_len = nnz * 2 + 1

    def build(chunk: int):
        return assemble_csc(
            lambda s, c: terms[s : s + c],
            lambda s, c: tfs[s : s + c],
            nnz,
            doc_len,
            40,
            BM25Params(),
            chunk_entries=chunk,
        )

    whole, pieces = build(10**6), build(7)
    np.testing.assert_array_equal(whole.indptr, pieces.indptr)
    np.testing.assert_array_equal(whole.indices, pieces.indices)
    np.testing.assert_array_equal(whole.data, pieces.data)
    for column in range(40):  # passages ascend within each column, as bm25s expects
        assert np.all(np.diff(whole.indices[whole.indptr[column] : whole.indptr[column + 1]]) > 0)


@pytest.mark.parametrize("method", ["lucene", "robertson", "atire"])
def test_formula_matches_bm25s_scoring_functions(method: str) -> None:
    from bm25s.scoring import _select_idf_scorer, _select_tfc_scorer

    df, n_docs = np.array([1, 5, 50, 99]), 100
    expected_idf = [_select_idf_scorer(method)(int(d), N=n_docs) for d in df]
    np.testing.assert_allclose(idf_values(df, n_docs, method), expected_idf, rtol=1e-6)
    params = BM25Params(k1=1.3, b=0.6, method=method)
    tf, dl = np.array([1.0, 2.0, 7.0]), np.array([10.0, 30.0, 3.0])
    expected = 0.8 * _select_tfc_scorer(method)(tf_array=tf, l_d=dl, l_avg=12.0, k1=1.3, b=0.6)
    np.testing.assert_allclose(bm25_contributions(0.8, tf, dl, 12.0, params), expected, rtol=1e-6)


def test_bad_bm25_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        BM25Params(method="bm25l")
    with pytest.raises(ValueError, match="k1"):
        BM25Params(b=1.5)


TRICKY = (
    "John's café isn't Bob’s. Straße, İstanbul and ŒUVRE are words; so are 2,024 and x_y.\n\n"
    "Heading line\n\nIt's the U.S. Army's \u200b zero-width space. Don't split don’t! Ünïcödé ΑΘΗΝΑ Київ.\n\n"
    + "Long sentence " * 120
    + "ends here. Short one? Yes."
)


def test_passage_tokens_and_sentence_starts_are_exactly_the_analyzers(
    tmp_path: Path, built_words: list[dict[str, int]]
) -> None:
    records = [
        ArticleRecord("tricky", "Bob’s Straße", TRICKY, None),
        *make_records(20, seed=11),
    ]
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", records)
    build_snapshot(store, tmp_path / "snapshots", source_url=SOURCE)
    snapshot = load_snapshot(tmp_path / "snapshots")
    assert len(snapshot) > 20
    _assert_tokens_are_the_analyzers(snapshot)
    (words,) = built_words
    assert words["john"] == 1 and words["strasse"] == 1 and words["don't"] == 2 and "the" not in words


def _random_article(rng: random.Random) -> str:
    """Words of several scripts, with apostrophes, marks, digits and punctuation, in sentences and
    paragraphs: what the numpy word scanner and the analyzer must split alike."""
    pieces = ["ab", "Don't", "don’t", "John's", "É", "straße", "Жук", "ǅ", "x_y", "²", "٣", "e\u0301",
              "漢字", "😀", "𝔘", "U.S.", "Mr.", "'", "’", "''", "-", "2,024"]  # fmt: skip
    separators = [" ", " ", " ", ". ", "? ", "! ", ", ", "\u00a0", "\t", "\n\n", "… ", " (", ") "]
    return "".join(rng.choice(pieces) + rng.choice(separators) for _ in range(rng.randint(5, 120)))


def _assert_tokens_are_the_analyzers(snapshot: Snapshot) -> None:
    analyzer = Analyzer()
    for pid in range(len(snapshot)):
        passage = snapshot.passages.get(pid)
        tokens = [snapshot.index.vocab.term(int(t)) for t in snapshot.tokens.passage_tokens(pid)]
        assert tokens == analyzer.terms(passage.text), passage.text
        starts = snapshot.tokens.sentence_token_starts(pid).tolist()
        assert starts == [len(analyzer.terms(passage.text[:s])) for s, _ in passage.sentences], passage.text


def test_passage_tokens_are_the_analyzers_on_random_text_of_many_scripts(tmp_path: Path) -> None:
    rng = random.Random(13)
    records = [ArticleRecord(f"r{i}", f"Title {i}", _random_article(rng), None) for i in range(300)]
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", records)
    build_snapshot(store, tmp_path / "snapshots", source_url=SOURCE)
    snapshot = load_snapshot(tmp_path / "snapshots")
    assert len(snapshot) >= 300
    _assert_tokens_are_the_analyzers(snapshot)


def test_vocabulary_maps_every_term_to_its_id(corpus_dir: Path) -> None:
    snapshot = load_snapshot(corpus_dir)
    vocab = snapshot.index.vocab
    assert len(vocab) == snapshot.info.vocabulary
    for term_id, term in enumerate(vocab):
        assert vocab[term] == term_id
    assert "no-such-term" not in vocab and vocab.get("zzzz") is None


def test_vocabulary_answers_repeated_lookups_alike(corpus_dir: Path) -> None:
    vocab = load_snapshot(corpus_dir).index.vocab
    term = vocab.term(len(vocab) // 2)
    for _ in range(2):
        assert vocab.get(term) == vocab[term] == len(vocab) // 2 and term in vocab
        assert vocab.get("no-such-term") is None and "no-such-term" not in vocab
        assert vocab.get("no-such-term", -1) == -1
        with pytest.raises(KeyError):
            vocab["no-such-term"]


def test_passage_links_escape_the_article_id(tmp_path: Path) -> None:
    store = fill_store(
        f"sqlite:///{tmp_path / 's.db'}",
        [ArticleRecord("Київ (місто)", "Kyiv", "Kyiv is the capital of Ukraine.", None)],
    )
    build_snapshot(store, tmp_path / "snapshots", source_url="https://uk.wikipedia.org/wiki/{article_id}")
    passage = load_snapshot(tmp_path / "snapshots").passages.get(0)
    assert (
        passage.link
        == "https://uk.wikipedia.org/wiki/%D0%9A%D0%B8%D1%97%D0%B2%20(%D0%BC%D1%96%D1%81%D1%82%D0%BE)"
    )
    assert (passage.article_id, passage.title, passage.start, passage.ordinal) == (
        "Київ (місто)",
        "Kyiv",
        0,
        0,
    )


def test_compiled_first_stage_gives_the_numpy_results(corpus_dir: Path) -> None:
    pytest.importorskip("numba", reason="numba (the 'numba' extra) is not installed")
    plain = load_snapshot(corpus_dir)
    compiled = load_snapshot(corpus_dir)
    assert compiled.index.accelerate()
    for ids in _queries(plain):
        expected_ids, expected_scores = plain.index.first_stage(ids, 10)
        got_ids, got_scores = compiled.index.first_stage(ids, 10)
        np.testing.assert_array_equal(got_ids, expected_ids)
        np.testing.assert_allclose(got_scores, expected_scores, rtol=1e-6)
