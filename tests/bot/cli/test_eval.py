"""``wikiqa eval``: figures of the current snapshot on SQuAD-style and BEIR-style question files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from retrieval.errors import SnapshotError, WikiqaError
from retrieval.index.build import build_snapshot
from retrieval.storage.articles import ArticleStore
from retrieval.storage.records import ArticleRecord

ARTICLES = [
    ArticleRecord("Kyiv", "Kyiv", "Kyiv is the capital of Ukraine. It stands on the Dnieper river.", None),
    ArticleRecord("Lviv", "Lviv", "Lviv is famous for its coffee houses and its old town.", None),
    ArticleRecord("Odesa", "Odesa", "Odesa is a port on the Black Sea with a famous opera house.", None),
]
SQUAD = [
    {"qid": "1", "question": "What is the capital of Ukraine?", "answers": ["Kyiv"], "article_id": "Kyiv"},
    {"qid": "2", "question": "What is Lviv famous for?", "answers": ["coffee houses"], "article_id": "Lviv"},
    {"qid": "3", "question": "Which sea is Odesa on?", "answers": ["Baltic"], "article_id": "Odesa"},
]


@pytest.fixture
def indexed(isolated_home: Path, tmp_path: Path) -> Path:
    store = ArticleStore(f"sqlite:///{tmp_path / 'store.db'}")
    store.upsert(ARTICLES, source="test")
    build_snapshot(store, isolated_home / "snapshots", source_url="")
    store.close()
    return tmp_path


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return path


def test_squad_json_has_the_documented_keys(indexed: Path) -> None:
    questions = _jsonl(indexed / "q.jsonl", SQUAD)
    out = indexed / "rows.jsonl"
    result = CliRunner().invoke(cli, ["eval", str(questions), "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert {"answer@1", "answer@3", "answer@5", "article@1", "mrr", "quote_chars_mean", "answer_line"} <= set(
        figures
    )
    assert figures["answer@1"] == pytest.approx(2 / 3, abs=1e-3)
    assert figures["article@1"] == 1.0
    assert set(figures["latency_ms"]) == {"p50", "p99"}
    assert "ndcg@10" not in figures
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["qid"] for r in rows] == ["1", "2", "3"]
    assert rows[2]["answer_rank"] is None


def test_text_output_and_limit(indexed: Path) -> None:
    questions = _jsonl(indexed / "q.jsonl", SQUAD)
    result = CliRunner().invoke(cli, ["eval", str(questions), "--limit", "2", "-k", "3"])
    assert result.exit_code == 0, result.output
    assert "2 questions" in result.stdout
    assert "answer@1" in result.stdout and "latency_ms" in result.stdout


def test_beir_queries_with_qrels(indexed: Path) -> None:
    queries = _jsonl(indexed / "queries.jsonl", [{"_id": "q1", "text": "opera house by the sea"}])
    qrels = indexed / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\tOdesa\t1\n", "utf-8")
    result = CliRunner().invoke(cli, ["eval", str(queries), "--qrels", str(qrels), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["ndcg@10"] == 1.0 and figures["recall@100"] == 1.0
    assert "answer@1" not in figures


def test_beir_queries_without_qrels_are_refused(indexed: Path) -> None:
    queries = _jsonl(indexed / "queries.jsonl", [{"_id": "q1", "text": "opera"}])
    result = CliRunner().invoke(cli, ["eval", str(queries)])
    assert isinstance(result.exception, WikiqaError)
    assert "--qrels" in str(result.exception)


def test_no_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    questions = _jsonl(tmp_path / "q.jsonl", SQUAD)
    result = CliRunner().invoke(cli, ["eval", str(questions)])
    assert isinstance(result.exception, SnapshotError)
    assert "reindex" in str(result.exception)
