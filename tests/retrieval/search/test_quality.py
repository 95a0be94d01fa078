"""Quality regression on a fixed sample of ../shared/eval: fails when search gets worse.

The semantic stage is guarded on eight of the 48 SQuAD articles (embedding all of them costs
minutes of CPU, more than the whole suite may take): the four that the Ukrainian UA-SQuAD
questions ask about and the four after them in the file as distractors, with the SQuAD, Russian
XQuAD and Ukrainian questions on them. All 48 articles, lexical, carry every 6th SQuAD question,
and all 150 SciFact claims the whole SciFact corpus, lexical too (its figures with the semantic
stage are measured by ``wikiqa eval``). Thresholds sit a little under the figures measured when
they were set (see each constant).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.search.evaluate import BeirQuery, SquadQuestion, evaluate_beir, evaluate_squad, load_qrels
from retrieval.search.searcher import Searcher
from retrieval.storage.records import ArticleRecord
from tests.conftest import MISSING_MODELS
from tests.retrieval.corpus_factory import snapshot_of

pytestmark = pytest.mark.eval

SQUAD_EVERY = 6
# Measured on every 6th SQuAD question over all 48 articles, BM25 and its rerank alone: answer@1
# 0.828, answer@5 0.939, MRR 0.879, mean quote 766 characters; SciFact, lexical, nDCG@10 0.698,
# recall@100 0.920 (plain BM25: about 0.689). Losing the rerank's gain fails these.
SQUAD_ANSWER_AT_1 = 0.82
SQUAD_ANSWER_AT_5 = 0.93
SQUAD_MRR = 0.87
SCIFACT_NDCG = 0.69
SCIFACT_RECALL = 0.90
# The semantic sample: the articles UA-SQuAD asks about, then as many distractors.
UKRAINIAN_ARTICLES = ("Normans", "Computational_complexity_theory", "Sky_(United_Kingdom)", "Huguenot")
DISTRACTORS = 4
SEMANTIC_SQUAD_EVERY = 2
# answer@1 and answer@5 on the semantic sample, a little under what was measured with e5's graph
# v5 and the foreign questions' names step: SQuAD 0.893 and 0.972 (every 2nd question on these
# articles), XQuAD-ru 0.787 and 0.943, UA-SQuAD 0.638 and 0.879 (all of theirs on these articles;
# without the names step 0.795 and 0.943, 0.617 and 0.879, where on all the shared questions it
# lifts XQuAD-ru from 0.657 and 0.871 to 0.665 and 0.876 and UA-SQuAD from 0.604 and 0.839 to 0.604
# and 0.846).
SEMANTIC = {
    "squad": (0.88, 0.96),
    "xquad-ru": (0.78, 0.93),
    "ua-squad": (0.60, 0.86),
}
QUESTION_FILES = {
    "squad": "squad/questions.jsonl",
    "xquad-ru": "xquad-ru/questions.jsonl",
    "ua-squad": "ua-squad/questions.jsonl",
}


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _searcher(root: Path, records: list[ArticleRecord], semantic: bool = False) -> Searcher:
    return Searcher(snapshot_of(records, root, semantic=semantic))


def _squad_questions(path: Path, every: int, articles: frozenset[str] | None = None) -> list[SquadQuestion]:
    lines = [q for q in _lines(path) if articles is None or q["article_id"] in articles]
    return [
        SquadQuestion(q["qid"], q["question"], tuple(q["answers"]), q["article_id"]) for q in lines[::every]
    ]


def _records(articles: list[dict]) -> list[ArticleRecord]:
    return [ArticleRecord(a["article_id"], a["title"], a["article"], None) for a in articles]


@pytest.fixture(scope="module")
def squad_report(eval_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    articles = _lines(eval_dir / "squad" / "articles.jsonl")
    searcher = _searcher(tmp_path_factory.mktemp("squad"), _records(articles))
    return evaluate_squad(searcher, _squad_questions(eval_dir / "squad" / "questions.jsonl", SQUAD_EVERY))


def _semantic_sample(articles: list[dict]) -> list[dict]:
    """The Ukrainian questions' articles, then the ``DISTRACTORS`` next in the file."""
    asked = [a for a in articles if a["article_id"] in UKRAINIAN_ARTICLES]
    last = max(articles.index(a) for a in asked)
    return asked + articles[last + 1 : last + 1 + DISTRACTORS]


@pytest.fixture(scope="module")
def semantic_searcher(eval_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    if MISSING_MODELS:
        pytest.skip(f"the semantic model is not installed ({', '.join(MISSING_MODELS)})")
    sample = _semantic_sample(_lines(eval_dir / "squad" / "articles.jsonl"))
    return _searcher(tmp_path_factory.mktemp("semantic"), _records(sample), semantic=True)


@pytest.fixture(scope="module")
def semantic_reports(eval_dir: Path, semantic_searcher: Searcher) -> dict:
    sample = _semantic_sample(_lines(eval_dir / "squad" / "articles.jsonl"))
    articles = frozenset(article["article_id"] for article in sample)
    return {
        name: evaluate_squad(
            semantic_searcher,
            _squad_questions(eval_dir / path, SEMANTIC_SQUAD_EVERY if name == "squad" else 1, articles),
        )
        for name, path in QUESTION_FILES.items()
    }


@pytest.fixture(scope="module")
def scifact_report(eval_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    corpus = _lines(eval_dir / "scifact" / "corpus.jsonl")
    searcher = _searcher(
        tmp_path_factory.mktemp("scifact"),
        [ArticleRecord(d["_id"], d["title"], d["text"], None) for d in corpus],
    )
    queries = [BeirQuery(q["_id"], q["text"]) for q in _lines(eval_dir / "scifact" / "queries.jsonl")]
    return evaluate_beir(searcher, queries, load_qrels(eval_dir / "scifact" / "qrels.tsv"))


def test_squad_sample_finds_answers_in_short_quotes(squad_report) -> None:
    s = squad_report.summary
    assert s["questions"] == 900
    assert s["answer@1"] >= SQUAD_ANSWER_AT_1, s
    assert s["answer@5"] >= SQUAD_ANSWER_AT_5, s
    assert s["mrr"] >= SQUAD_MRR, s
    assert s["quote_chars_mean"] <= 800, s


@pytest.mark.parametrize("name", sorted(SEMANTIC))
def test_questions_in_english_russian_and_ukrainian_find_answers_in_the_english_corpus(
    semantic_reports: dict, name: str
) -> None:
    s = semantic_reports[name].summary
    at_1, at_5 = SEMANTIC[name]
    assert s["answer@1"] >= at_1, s
    assert s["answer@5"] >= at_5, s


def test_scifact_ranks_cited_abstracts_high(scifact_report) -> None:
    s = scifact_report.summary
    assert s["questions"] == 150
    assert s["ndcg@10"] >= SCIFACT_NDCG, s
    assert s["recall@100"] >= SCIFACT_RECALL, s
