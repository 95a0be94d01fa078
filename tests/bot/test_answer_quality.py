"""Quality locks on ../shared/eval: the answer line and the no-match threshold on real questions.

A fixed sample (every 8th SQuAD question, all 150 SciFact claims) keeps this to a few seconds;
the full figures come from ``benchmarks/answer.py calibrate`` and ``wikiqa eval``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.answer import Answerer
from retrieval.index.build import build_snapshot
from retrieval.index.publish import load_snapshot
from retrieval.search.answer_line import answer_line
from retrieval.search.evaluate import contains_answer
from retrieval.storage.articles import ArticleStore
from retrieval.storage.records import ArticleRecord

pytestmark = pytest.mark.eval


@pytest.fixture(scope="module")
def squad_snapshot(eval_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("squad")
    store = ArticleStore(f"sqlite:///{folder / 'store.db'}")
    with (eval_dir / "squad" / "articles.jsonl").open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    store.upsert((ArticleRecord(r["article_id"], r["title"], r["article"], "") for r in rows), source="squad")
    build_snapshot(store, folder / "snapshots", source_url="https://en.wikipedia.org/wiki/{article_id}")
    store.close()
    return load_snapshot(folder / "snapshots")


@pytest.fixture(scope="module")
def squad_sample(eval_dir: Path) -> list[dict]:
    with (eval_dir / "squad" / "questions.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for i, line in enumerate(lines) if i % 8 == 0]


def test_answer_line_holds_the_gold_answer_for_two_thirds_of_squad_questions(squad_snapshot, squad_sample):
    searcher = Answerer(squad_snapshot)._searcher_for(squad_snapshot)
    found = 0
    for q in squad_sample:
        line = answer_line(
            q["question"], searcher.search(q["question"], k=5), analyzer=squad_snapshot.analyzer
        )
        found += line is not None and contains_answer(line, q["answers"])
    assert found / len(squad_sample) >= 0.68  # 0.70 measured on all 5,397 questions


def test_no_match_refuses_unrelated_claims_but_few_real_questions(squad_snapshot, squad_sample, eval_dir):
    answerer = Answerer(squad_snapshot)
    refused = sum(answerer.answer(q["question"]).no_match for q in squad_sample) / len(squad_sample)
    with (eval_dir / "scifact" / "queries.jsonl").open(encoding="utf-8") as lines:
        claims = [json.loads(line)["text"] for line in lines]
    unrelated = sum(answerer.answer(c).no_match for c in claims) / len(claims)
    assert refused <= 0.08  # 0.051 on all SQuAD questions
    assert unrelated >= 0.85  # 0.92 of the SciFact claims
