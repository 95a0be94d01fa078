"""Search with the semantic stage over the bundled corpus: questions in Russian and Ukrainian find
the English passages that answer them, English questions keep their lexical ranking's strengths,
and a snapshot or an install without vectors searches as before."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from retrieval.index.reader import Snapshot
from retrieval.search import semantic as semantic_stage
from retrieval.search.searcher import Searcher
from retrieval.search.semantic import MIN_SIMILARITY

CROSS_LINGUAL = [
    ("Какая самая высокая гора в мире?", "Mount Everest"),
    ("Когда произошла Чернобыльская авария?", "Chernobyl disaster"),
    ("Кто открыл радий?", "Marie Curie"),
    ("Что такое фотосинтез?", "Photosynthesis"),
    ("Коли сталася Чорнобильська катастрофа?", "Chernobyl disaster"),
    ("Як називається валюта України?", "Hryvnia"),
]


@pytest.mark.parametrize(("question", "title"), CROSS_LINGUAL)
def test_a_question_in_russian_or_ukrainian_finds_the_english_article(
    semantic_snapshot: Snapshot, question: str, title: str
) -> None:
    searcher = Searcher(semantic_snapshot)
    assert searcher.is_cross_lingual(question)
    hits = searcher.search(question, k=3)
    assert hits[0].title == title
    assert hits[0].similarity is not None and hits[0].similarity >= MIN_SIMILARITY
    assert not Searcher(semantic_snapshot, semantic=None).search(question, k=3)  # words alone find nothing


def test_the_answer_line_of_a_cross_lingual_question_is_a_sentence_of_the_top_passage(
    semantic_snapshot: Snapshot,
) -> None:
    searcher = Searcher(semantic_snapshot)
    question = "Когда произошла Чернобыльская авария?"
    hits = searcher.search(question, k=3)
    line = searcher.answer_line(question, hits)
    assert line is not None and line in hits[0].text
    assert "1986" in line


def test_an_unrelated_foreign_question_is_below_the_similarity_floor(semantic_snapshot: Snapshot) -> None:
    hits = Searcher(semantic_snapshot).search("Сколько стоит билет на поезд из Парижа в Лион?", k=3)
    assert hits and hits[0].similarity is not None and hits[0].similarity < MIN_SIMILARITY


def test_an_english_question_is_reranked_by_cosine_but_keeps_its_candidates(
    semantic_snapshot: Snapshot,
) -> None:
    question = "Which aircraft was the heaviest ever built?"
    semantic = Searcher(semantic_snapshot)
    lexical = Searcher(semantic_snapshot, semantic=None)
    assert not semantic.is_cross_lingual(question)
    hits = semantic.search(question, k=5)
    assert hits[0].title == "Antonov An-225 Mriya" and hits[0].similarity is None
    depth = semantic_stage.SemanticParams().english_depth
    assert {h.passage_id for h in hits} <= {h.passage_id for h in lexical.search(question, k=depth)}


class _Table:
    """Vectors whose cosine with any question is given outright."""

    def __init__(self, cosines: list[float]) -> None:
        self._cosines = np.asarray(cosines, dtype=np.float32)

    def cosines(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        return self._cosines[rows]


def _stage(
    params: semantic_stage.SemanticParams,
    sentences: list[float] | None = None,
    english_sentences: list[float] | None = None,
):
    """A stage over four passages of one sentence each, with both question vectors known;
    ``sentences``: the multilingual sentence cosines, ``english_sentences`` MiniLM's."""
    vectors = {"english": _Table([0.1, 0.2, 0.9, 0.0])}
    sentence_vectors = {}
    if sentences is not None:
        vectors["multilingual"] = _Table([0.0] * 4)
        sentence_vectors["multilingual"] = _Table(sentences)
    if english_sentences is not None:
        sentence_vectors["english"] = _Table(english_sentences)
    snapshot = SimpleNamespace(
        vectors=vectors, sentence_vectors=sentence_vectors, sentence_offsets=np.arange(5)
    )
    stage = semantic_stage.SemanticStage(snapshot, params)  # type: ignore[arg-type]
    stage._questions[("english", "q")] = np.zeros(3, np.float32)
    stage._questions[("multilingual", "q")] = np.zeros(3, np.float32)
    return stage


def _z(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / values.std()


def test_rescoring_orders_like_the_sum_of_z_scores() -> None:
    """Here of score and passage cosine alone: a snapshot built before English sentences were
    embedded has no sentence signal to add, whatever its weight."""
    scores = np.array([10.0, 9.0, 8.0, 1.0])
    stage = _stage(semantic_stage.SemanticParams(english_weight=1.0, english_sentence_weight=0.75))
    rescored = stage.rescore("q", np.arange(4), scores)
    expected = _z(scores) + _z(np.array([0.1, 0.2, 0.9, 0.0]))
    assert list(np.argsort(-rescored)) == list(np.argsort(-expected))


def test_an_english_question_also_weighs_each_passages_best_sentence() -> None:
    scores = np.array([10.0, 9.0, 8.0, 1.0])
    sentences = [0.0, 0.9, 0.0, 0.0]
    params = semantic_stage.SemanticParams(english_weight=1.0, english_sentence_weight=0.8)
    stage = _stage(params, english_sentences=sentences)
    rescored = stage.rescore("q", np.arange(4), scores)
    expected = _z(scores) + _z(np.array([0.1, 0.2, 0.9, 0.0])) + 0.8 * _z(np.array(sentences))
    assert list(np.argsort(-rescored)) == list(np.argsort(-expected))
    assert int(np.argmax(rescored)) == 1  # without its sentence, passage 2 would lead


def test_the_contenders_for_first_place_are_the_rescored_depth_and_its_ties() -> None:
    stage = _stage(semantic_stage.SemanticParams(english_depth=2))
    assert list(stage.contenders(np.arange(4), np.array([10.0, 9.0, 8.0, 1.0]))) == [0, 1]
    assert list(stage.contenders(np.arange(4), np.array([9.0, 10.0, 9.0, 1.0]))) == [0, 1, 2]


def test_an_english_question_needs_no_multilingual_pass() -> None:
    """Its multilingual best sentence added nothing beside MiniLM's (shared halves) and cost a
    second encoder pass: only the English question vector is asked for."""
    stage = _stage(
        semantic_stage.SemanticParams(), sentences=[0.0, 0.9, 0.0, 0.0], english_sentences=[0.0] * 4
    )
    del stage._questions[("multilingual", "q")]  # asking for it would load the model
    stage.rescore("q", np.arange(4), np.array([10.0, 9.0, 8.0, 1.0]))
    assert list(stage._questions) == [("english", "q")]


def test_without_the_models_installed_the_snapshot_is_searched_lexically(
    semantic_snapshot: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(semantic_stage, "installed", lambda role: False)
    searcher = Searcher(semantic_snapshot)
    question = "Какая самая высокая гора в мире?"
    assert not searcher.is_cross_lingual(question) and searcher.search(question) == []
    english = "When was the Collective Security Treaty signed?"
    lexical = Searcher(semantic_snapshot, semantic=None)
    assert [h.passage_id for h in searcher.search(english)] == [h.passage_id for h in lexical.search(english)]
