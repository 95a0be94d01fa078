"""Evaluation: answer matching, metrics, file formats, and scoring of what the searcher returns."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from retrieval.errors import SourceError
from retrieval.search import evaluate as ev
from retrieval.search.hit import Hit


def _hit(text: str, article_id: str = "A", pid: int = 0) -> Hit:
    return Hit(pid, article_id, article_id, "", text, 1.0, (), ((0, len(text)),), 0, len(text))


class FakeSearcher:
    """Returns fixed hits per question and records how it was called."""

    def __init__(self, results: dict[str, list[Hit]]) -> None:
        self.results = results
        self.calls: list[tuple[str, int, int | None]] = []

    def search(self, question: str, k: int = 10, *, per_article: int | None = None) -> list[Hit]:
        self.calls.append((question, k, per_article))
        return self.results.get(question, [])[:k]

    def answer_line(self, question: str, hits: list[Hit]) -> str | None:
        """The first quote's text: enough to check how answer lines are scored."""
        return hits[0].text if hits else None


def test_normalization_drops_case_punctuation_and_extra_spaces() -> None:
    assert ev.normalize_answer("  The Denver   Broncos! ") == "the denver broncos"
    assert ev.normalize_answer("“Saffir–Simpson” scale.") == "saffirsimpson scale"


def test_answer_found_in_text_after_normalization() -> None:
    assert ev.contains_answer("Won by the DENVER  Broncos, 24–10.", ["denver broncos"])
    assert not ev.contains_answer("Carolina Panthers", ["Denver Broncos"])
    assert not ev.contains_answer("anything", ["", "  "])


def test_ndcg_rewards_relevant_articles_ranked_high() -> None:
    assert ev.ndcg(["a", "b"], {"a": 1}) == 1.0
    assert ev.ndcg(["b", "a"], {"a": 1}) == pytest.approx(1 / math.log2(3))
    assert ev.ndcg(["b", "c"], {"a": 1}) == 0.0
    assert ev.ndcg(["a", "x", "b"], {"a": 1, "b": 1}) == pytest.approx((1 + 0.5) / (1 + 1 / math.log2(3)))


def test_percentile_is_nearest_rank() -> None:
    assert ev.percentile([], 0.5) is None
    assert ev.percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert ev.percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0  # the smallest with half at or below it
    assert ev.percentile([float(i) for i in range(1, 101)], 0.99) == 99.0
    assert ev.percentile([float(i) for i in range(1, 11)], 0.99) == 10.0
    assert ev.percentile(iter([5.0]), 0.0) == 5.0


def test_squad_scores_answers_in_the_k_best_quotes() -> None:
    questions = [
        ev.SquadQuestion("1", "q1", ("Kyiv",), "Ukraine"),
        ev.SquadQuestion("2", "q2", ("Dnieper",), "Ukraine"),
        ev.SquadQuestion("3", "q3", ("Lviv",), "Ukraine"),
        ev.SquadQuestion("4", "q4", ("Odesa",), "Ukraine"),
    ]
    searcher = FakeSearcher(
        {
            "q1": [_hit("Kyiv is the capital.", "Ukraine")],
            "q2": [_hit("xx", "Other"), _hit("yy", "Ukraine"), _hit("on the Dnieper", "Ukraine")],
            "q3": [_hit("a", "Ukraine")] * 4 + [_hit("Lviv", "Ukraine")],
        }
    )
    report = ev.evaluate_squad(searcher, questions)
    s = report.summary
    assert (s["answer@1"], s["answer@3"], s["answer@5"]) == (0.25, 0.5, 0.75)
    assert s["article@1"] == 0.5
    assert s["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 5) / 4, abs=1e-4)
    assert s["answer_line"] == 0.25
    assert s["questions"] == 4
    assert set(s["latency_ms"]) == {"p50", "p99"}
    assert [row["answer_rank"] for row in report.rows] == [1, 3, 5, None]
    assert all(call[1] >= 10 for call in searcher.calls)


def test_quote_length_is_the_mean_over_the_scored_quotes() -> None:
    searcher = FakeSearcher({"q": [_hit("x" * 100), _hit("x" * 300), _hit("x" * 1000)]})
    report = ev.evaluate_squad(searcher, [ev.SquadQuestion("1", "q", ("y",), "A")], quotes=2)
    assert report.summary["quote_chars_mean"] == 200.0
    assert report.summary["answer_line"] == 0.0


def test_beir_ranks_articles_by_their_best_passage() -> None:
    queries = [ev.BeirQuery("1", "claim one"), ev.BeirQuery("2", "claim two"), ev.BeirQuery("3", "unjudged")]
    qrels = {"1": {"d1": 1}, "2": {"d2": 1, "d3": 1}}
    searcher = FakeSearcher({"claim one": [_hit("t", "d1")], "claim two": [_hit("t", "d9"), _hit("t", "d2")]})
    report = ev.evaluate_beir(searcher, queries, qrels)
    assert report.summary["questions"] == 2
    assert report.summary["ndcg@10"] == pytest.approx(
        (1 + (1 / math.log2(3)) / (1 + 1 / math.log2(3))) / 2, abs=1e-4
    )
    assert report.summary["recall@100"] == 0.75
    assert all(per_article == 1 for _, _, per_article in searcher.calls)


def test_question_files_are_told_apart_by_their_fields(tmp_path: Path) -> None:
    squad = tmp_path / "squad.jsonl"
    squad.write_text(
        json.dumps({"qid": "a", "question": "Who?", "answers": ["Me"], "article_id": "X"}) + "\n\n", "utf-8"
    )
    beir = tmp_path / "beir.jsonl"
    beir.write_text(json.dumps({"_id": "5", "text": "A claim.", "metadata": {}}) + "\n", "utf-8")
    assert ev.load_questions(squad) == [ev.SquadQuestion("a", "Who?", ("Me",), "X")]
    assert ev.load_questions(beir) == [ev.BeirQuery("5", "A claim.")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "q", "answers": []}\nnot json\n', "line 2"),
        ('{"foo": 1}\n', "line 1"),
        ("", "holds no questions"),
        ('{"question": "q", "answers": []}\n{"_id": "1", "text": "t"}\n', "mixes"),
    ],
)
def test_bad_question_files_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(content, "utf-8")
    with pytest.raises(SourceError, match=message):
        ev.load_questions(path)


def test_qrels_with_header_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "qrels.tsv"
    path.write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\t0\n", "utf-8")
    assert ev.load_qrels(path) == {"1": {"d1": 1, "d2": 0}}
    path.write_text("1\td1\n", "utf-8")
    with pytest.raises(SourceError, match="line 1"):
        ev.load_qrels(path)


def test_answers_are_scored_by_language_and_a_refused_question_is_missed_in_what_users_were_shown() -> None:
    questions = [
        ev.SquadQuestion("1", "Where is Kyiv?", ("Kyiv",), "Ukraine"),
        ev.SquadQuestion("2", "Де розташований Київ?", ("Kyiv",), "Ukraine"),
        ev.SquadQuestion("3", "Где находится Киев?", ("Kyiv",), "Ukraine"),
        ev.SquadQuestion("4", "Коли засновано Київ?", ("482",), "Ukraine"),
    ]
    found = [_hit("Kyiv is the capital.", "Ukraine")]
    searcher = FakeSearcher({q.question: found for q in questions})
    refused = lambda question, hits: question.startswith("Где")  # noqa: E731
    report = ev.evaluate_squad(searcher, questions, refuses=refused)
    s = report.summary
    assert (s["answer@1"], s["refused"], s["shown@1"], s["shown@5"]) == (0.75, 0.25, 0.5, 0.5)
    assert s["by_language"] == {
        "en": {
            "questions": 1,
            "answer@1": 1.0,
            "answer@5": 1.0,
            "refused": 0.0,
            "shown@1": 1.0,
            "shown@5": 1.0,
        },
        "ru": {
            "questions": 1,
            "answer@1": 1.0,
            "answer@5": 1.0,
            "refused": 1.0,
            "shown@1": 0.0,
            "shown@5": 0.0,
        },
        "uk": {
            "questions": 2,
            "answer@1": 0.5,
            "answer@5": 0.5,
            "refused": 0.0,
            "shown@1": 0.5,
            "shown@5": 0.5,
        },
    }


def test_a_question_file_that_is_not_utf8_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"question": "a", "answers": ["b"]}\n{"question": "\xff\xfe", "answers": []}\n')
    with pytest.raises(SourceError, match=r"q\.jsonl, line 2: not UTF-8 text \(byte 15 of the line\)"):
        ev.load_questions(path)
