"""The share of a question a passage holds, weighed by the IDF of each of its terms."""

from __future__ import annotations

import pytest

from retrieval.search.coverage import coverage, question_idfs
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


def test_a_hit_holds_the_weighted_share_of_the_question_in_its_text_or_title(snapshot) -> None:
    search = Searcher(snapshot, semantic=None).search
    lviv = "Is Lviv famous for coffee?"  # "lviv" is in that passage's title only
    assert coverage(lviv, search(lviv, k=1)[0], snapshot) == 1.0
    question = "Which zeppelin flows through ten countries?"  # "zeppelin" is in no passage
    weights = question_idfs(question, snapshot)
    held = 1 - weights["zeppelin"] / sum(weights.values())
    assert coverage(question, search(question, k=1)[0], snapshot) == pytest.approx(held)


def test_a_word_the_corpus_lacks_weighs_as_much_as_its_rarest_word(snapshot) -> None:
    weights = question_idfs("Which zeppelin crossed the Danube?", snapshot)
    assert weights["zeppelin"] == pytest.approx(float(snapshot.index.idf.max()))
    assert weights["danub"] < weights["zeppelin"]  # in both passages


def test_a_question_of_stop_words_only_is_held_by_nothing(snapshot) -> None:
    hit = Searcher(snapshot, semantic=None).search("Danube", k=1)[0]
    assert coverage("what is it", hit, snapshot) == 0.0
