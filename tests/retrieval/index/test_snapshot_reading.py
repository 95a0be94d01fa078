"""Reading a loaded snapshot: the batched and partial readers agree with the per-passage ones."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.index.build import build_snapshot
from retrieval.index.publish import load_snapshot
from retrieval.index.reader import Snapshot
from tests.retrieval.corpus_factory import fill_store, make_records


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    folder = tmp_path_factory.mktemp("reading")
    store = fill_store(f"sqlite:///{folder / 's.db'}", make_records(40))
    build_snapshot(store, folder / "snapshots", source_url="https://example.org/{article_id}")
    return load_snapshot(folder / "snapshots")


def test_passages_tokens_match_one_passage_reads_across_runs_gaps_and_repeats(snapshot: Snapshot) -> None:
    last = len(snapshot) - 1
    pids = np.array([5, 3, 4, 4, 0, last, 9, 11, 10])
    batch = snapshot.tokens.passages_tokens(pids)
    assert len(batch) == len(set(pids.tolist()))
    for pid in pids.tolist():
        assert batch.of(pid).tolist() == snapshot.tokens.passage_tokens(pid).tolist()
    asked = np.array([11, 4, 4, last, 0])
    joined, counts = batch.joined(asked)
    one_by_one = [snapshot.tokens.passage_tokens(pid) for pid in asked.tolist()]
    assert counts.tolist() == [len(tokens) for tokens in one_by_one]
    assert joined.tolist() == np.concatenate(one_by_one).tolist()


def test_passages_tokens_of_nothing_is_empty(snapshot: Snapshot) -> None:
    batch = snapshot.tokens.passages_tokens(np.zeros(0, dtype=np.int64))
    assert len(batch) == 0
    joined, counts = batch.joined(np.zeros(0, dtype=np.int64))
    assert len(joined) == len(counts) == 0


def test_sentence_starts_of_many_passages_are_each_passage_s_joined(snapshot: Snapshot) -> None:
    pids = np.array([7, 2, 7, len(snapshot) - 1])
    starts, counts = snapshot.tokens.sentences_token_starts(pids)
    one_by_one = [snapshot.tokens.sentence_token_starts(pid) for pid in pids.tolist()]
    assert counts.tolist() == [len(s) for s in one_by_one]
    assert starts.tolist() == np.concatenate(one_by_one).tolist()


def test_title_and_article_indexes_agree_with_the_whole_passage(snapshot: Snapshot) -> None:
    pids = np.arange(len(snapshot))
    indexes = snapshot.passages.article_indexes(pids)
    for pid in pids.tolist():
        assert snapshot.passages.title(pid) == snapshot.passages.get(pid).title
        assert indexes[pid] == snapshot.passages.article_index(pid)
    assert len(set(indexes.tolist())) == 40


def test_an_articles_opening_is_its_first_passage(snapshot: Snapshot) -> None:
    passages = snapshot.passages
    for pid in range(len(snapshot)):
        opening = passages.article_opening(pid)
        assert passages.article_index(opening) == passages.article_index(pid)
        assert opening == 0 or passages.article_index(opening - 1) != passages.article_index(pid)
        assert passages.get(opening).start == 0


def test_passage_bounds_agree_with_the_whole_passage(snapshot: Snapshot) -> None:
    pids = np.array([7, 0, len(snapshot) - 1, 7])
    bounds = snapshot.passages.bounds(pids).tolist()
    for pid, (article, start, end) in zip(pids.tolist(), bounds, strict=True):
        passage = snapshot.passages.get(pid)
        assert (article, start, end) == (snapshot.passages.article_index(pid), passage.start, passage.end)


def test_article_indexes_stand_for_article_ids_one_to_one(snapshot: Snapshot) -> None:
    indexes = snapshot.passages.article_indexes(np.arange(len(snapshot))).tolist()
    pairs = {(index, snapshot.passages.get(pid).article_id) for pid, index in enumerate(indexes)}
    assert len(pairs) == len({i for i, _ in pairs}) == len({a for _, a in pairs})
