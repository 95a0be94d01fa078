"""The share of a question a passage holds, and the bound that lets a refused question skip the
semantic pass: no passage may ever hold more than its bound says."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.search.coverage import best_possible, coverage, question_idfs
from retrieval.search.searcher import Searcher
from retrieval.storage.records import ArticleRecord
from tests.retrieval.corpus_factory import snapshot_of

ARTICLES = [
    ArticleRecord(
        "Danube",
        "Danube",
        "The Danube is the second-longest river in Europe. It flows through ten countries.\n\n"
        "Its delta is a reserve for pelicans, herons and other birds.",
        None,
    ),
    ArticleRecord(
        "Lviv",
        "Lviv",
        "The city lies in western Ukraine, far from the Danube, and is famous for its coffee houses.",
        None,
    ),
]

QUESTIONS = [
    "Which river flows through ten countries?",
    "What birds nest in the Danube delta?",
    "Is Lviv famous for coffee?",  # "lviv" is in that passage's title only
    "Which zeppelin flows through Lviv?",  # "zeppelin" is in no passage
    "coffee coffee river river",
]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory):
    return snapshot_of(ARTICLES, tmp_path_factory.mktemp("coverage"))


def _bound(snapshot, question: str, pids: np.ndarray) -> float:
    def title_terms(pid: int) -> frozenset[str]:
        return frozenset(snapshot.analyzer.terms(snapshot.passages.title(pid) or ""))

    def joined_tokens(asked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return snapshot.tokens.passages_tokens(asked).joined(asked)

    return best_possible(question, pids, snapshot, joined_tokens, title_terms)


@pytest.mark.parametrize("question", QUESTIONS)
def test_no_hit_holds_more_of_the_question_than_its_bound(snapshot, question: str) -> None:
    hits = Searcher(snapshot, semantic=None).search(question, k=10)
    assert hits
    for hit in hits:
        bound = _bound(snapshot, question, np.array([hit.passage_id]))
        assert coverage(question, hit, snapshot) == pytest.approx(bound)


def test_the_bound_of_several_passages_is_their_best(snapshot) -> None:
    question = "Is Lviv famous for coffee?"
    pids = np.arange(len(snapshot))
    one_by_one = [_bound(snapshot, question, pids[i : i + 1]) for i in range(len(pids))]
    together = _bound(snapshot, question, pids)
    assert together == max(one_by_one) == 1.0


def test_a_word_the_corpus_lacks_weighs_as_much_as_its_rarest_word(snapshot) -> None:
    weights = question_idfs("Which zeppelin crossed the Danube?", snapshot)
    assert weights["zeppelin"] == pytest.approx(float(snapshot.index.idf.max()))
    assert weights["danub"] < weights["zeppelin"]  # in both passages


def test_a_question_of_stop_words_only_is_held_by_nothing(snapshot) -> None:
    assert _bound(snapshot, "what is it", np.arange(len(snapshot))) == 0.0
