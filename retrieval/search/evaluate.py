"""Quality figures of the quotes a user is shown, on SQuAD-style or BEIR-style question files.

SQuAD-style lines (``question``, ``answers``, ``article_id``) are scored by whether a gold answer
occurs in the quotes the searcher returns, overall and by the question's language (answer@k: the
ranking's figure). Where the caller says which questions are refused ("no good match", which shows
no quotes), the share refused is reported, and shown@k scores exactly what the user is shown: a
refused question counts as missed. Both are kept so that a change of the ranking and one of the
refusal rule are seen apart.
BEIR-style queries (``_id``, ``text``) with a qrels file are scored over articles, each article
ranked by its best passage. Latency is measured around the search call itself.
"""

from __future__ import annotations

import json
import math
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from retrieval.errors import SourceError
from retrieval.search.hit import Hit
from retrieval.semantic.language import language

SQUAD_KS = (1, 3, 5)
SHOWN_KS = (1, 5)
MRR_DEPTH = 10
NDCG_DEPTH = 10
RECALL_DEPTH = 100

_SPACES = re.compile(r"\s+")


class SearchFn(Protocol):
    def search(self, question: str, k: int = 10, *, per_article: int | None = None) -> list[Hit]: ...
    def answer_line(self, question: str, hits: list[Hit]) -> str | None: ...


# Whether the user would be told "no good match" for this question and these hits.
Refuses = Callable[[str, list[Hit]], bool]


def normalize_answer(text: str) -> str:
    """Lower case, punctuation removed, runs of whitespace made one space (SQuAD-style)."""
    folded = text.casefold()
    kept = "".join(ch for ch in folded if not unicodedata.category(ch).startswith("P"))
    return _SPACES.sub(" ", kept).strip()


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """Whether a normalized gold answer occurs in the normalized ``text``.

    Plain substring containment, the protocol the project's figures have always been measured
    with, so that they stay comparable (whole words only would count a little less).
    """
    haystack = normalize_answer(text)
    return any(needle and needle in haystack for needle in map(normalize_answer, answers))


@dataclass(frozen=True)
class SquadQuestion:
    qid: str
    question: str
    answers: tuple[str, ...]
    article_id: str


@dataclass(frozen=True)
class BeirQuery:
    qid: str
    text: str


@dataclass
class Report:
    """Summary figures (keys as ``wikiqa eval --json`` prints them) and one row per question."""

    summary: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Each line of a text file with its number; one that is not UTF-8 is named in one sentence."""
    with Path(path).open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as err:
                problem = f"not UTF-8 text (byte {err.start + 1} of the line)"
                raise SourceError(str(path), problem, number) from None


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each line's JSON object, with its line number; a line that is not UTF-8, not JSON or not an
    object is named in one sentence."""
    for number, line in _text_lines(path):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise SourceError(str(path), f"not valid JSON ({err.msg})", number) from None
        except RecursionError:
            raise SourceError(str(path), "nests JSON too deeply", number) from None
        if not isinstance(value, dict):
            raise SourceError(str(path), "each line must be a JSON object", number)
        yield number, value


def load_questions(path: Path) -> list[SquadQuestion] | list[BeirQuery]:
    """SQuAD-style questions or BEIR-style queries, told apart by their fields."""
    squad: list[SquadQuestion] = []
    beir: list[BeirQuery] = []
    for number, value in read_jsonl(path):
        if "question" in value and "answers" in value:
            answers = value["answers"]
            if isinstance(answers, dict):  # the original SQuAD shape: {"text": [...]}
                answers = answers.get("text", [])
            squad.append(
                SquadQuestion(
                    qid=str(value.get("qid", value.get("id", number))),
                    question=str(value["question"]),
                    answers=tuple(str(a) for a in answers),
                    article_id=str(value.get("article_id", "")),
                )
            )
        elif "_id" in value and "text" in value:
            beir.append(BeirQuery(qid=str(value["_id"]), text=str(value["text"])))
        else:
            raise SourceError(
                str(path), 'expected "question" and "answers" (SQuAD) or "_id" and "text" (BEIR)', number
            )
    if squad and beir:
        raise SourceError(str(path), "mixes SQuAD-style questions and BEIR-style queries", None)
    if not squad and not beir:
        raise SourceError(str(path), "holds no questions", None)
    return squad or beir


def load_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels (``query-id<TAB>corpus-id<TAB>score``, header optional) as query -> doc -> grade."""
    qrels: dict[str, dict[str, int]] = {}
    for number, line in _text_lines(path):
        parts = line.rstrip("\r\n").split("\t")
        if not line.strip() or (number == 1 and parts[0] == "query-id"):
            continue
        if len(parts) != 3:
            raise SourceError(str(path), "expected query-id, corpus-id and score separated by tabs", number)
        try:
            grade = int(float(parts[2]))
        except ValueError:
            raise SourceError(str(path), f"score {parts[2]!r} is not a number", number) from None
        qrels.setdefault(parts[0], {})[parts[1]] = grade
    return qrels


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-quantile (``q`` from 0 to 1) by nearest rank: the smallest value with at least
    that share of the values at or below it; None for no values. The one definition behind every
    latency figure wikiqa reports (``wikiqa eval``, ``wikiqa report``, the bot's /stats)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def _timed(searcher: SearchFn, question: str, k: int, per_article: int | None) -> tuple[list[Hit], float]:
    started = time.perf_counter()
    hits = searcher.search(question, k, per_article=per_article)
    return hits, (time.perf_counter() - started) * 1000


def latency_figures(latencies: list[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds (0 for no questions)."""
    return {name: round(percentile(latencies, q) or 0.0, 3) for name, q in (("p50", 0.50), ("p99", 0.99))}


def evaluate_squad(
    searcher: SearchFn,
    questions: list[SquadQuestion],
    *,
    quotes: int = 5,
    on_question: Callable[[], None] | None = None,
    refuses: Refuses | None = None,
) -> Report:
    """answer@1/3/5, article@1, MRR@10, mean quote length over the top ``quotes``, the answer
    line's hit rate and latency; answer@1 and @5 by language; with ``refuses``, the share of
    questions refused and shown@1/@5 (answer@k with refused questions missed)."""
    depth = max(MRR_DEPTH, quotes, *SQUAD_KS)
    found = dict.fromkeys(SQUAD_KS, 0)
    article_hits = 0
    reciprocal = 0.0
    quote_chars: list[int] = []
    line_hits = 0
    latencies: list[float] = []
    rows: list[dict[str, Any]] = []
    for question in questions:
        hits, took = _timed(searcher, question.question, depth, None)
        latencies.append(took)
        holds = [contains_answer(hit.text, question.answers) for hit in hits]
        first = next((rank for rank, ok in enumerate(holds[:MRR_DEPTH], start=1) if ok), None)
        for k in SQUAD_KS:
            found[k] += any(holds[:k])
        article_hits += bool(hits) and hits[0].article_id == question.article_id
        reciprocal += 1 / first if first else 0.0
        quote_chars.extend(len(hit.text) for hit in hits[:quotes])
        row: dict[str, Any] = {
            "qid": question.qid,
            "question": question.question,
            "answers": list(question.answers),
            "article_id": question.article_id,
            "answer_rank": first,
            "latency_ms": round(took, 3),
            "hits": [
                {"article_id": h.article_id, "start": h.start, "end": h.end, "score": round(h.score, 4)}
                for h in hits[:quotes]
            ],
        }
        line = searcher.answer_line(question.question, hits[:quotes])
        row["answer_line"] = line
        row["language"] = language(question.question)
        if refuses is not None:
            row["refused"] = refuses(question.question, hits)
        line_hits += line is not None and contains_answer(line, question.answers)
        rows.append(row)
        if on_question:
            on_question()
    n = max(len(questions), 1)
    summary: dict[str, Any] = {f"answer@{k}": round(found[k] / n, 4) for k in SQUAD_KS}
    summary["article@1"] = round(article_hits / n, 4)
    summary["mrr"] = round(reciprocal / n, 4)
    summary["quote_chars_mean"] = round(sum(quote_chars) / len(quote_chars), 1) if quote_chars else 0.0
    summary["answer_line"] = round(line_hits / n, 4)
    summary["questions"] = len(questions)
    if refuses is not None:
        summary.update(_refusal_figures(rows))
    summary["by_language"] = _by_language(rows)
    summary["latency_ms"] = latency_figures(latencies)
    return Report(summary, rows)


def _by_language(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """answer@1, answer@5 (and the refused share where known) of each language's questions."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row["language"], []).append(row)
    out: dict[str, dict[str, Any]] = {}
    for name, group in sorted(groups.items()):
        ranks = [row["answer_rank"] for row in group]
        figures: dict[str, Any] = {"questions": len(group)}
        for k in (1, 5):
            figures[f"answer@{k}"] = round(sum(1 for r in ranks if r is not None and r <= k) / len(group), 4)
        if "refused" in group[0]:
            figures.update(_refusal_figures(group))
        out[name] = figures
    return out


def _refusal_figures(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The share of ``rows`` refused, and shown@1/@5: answer@k where a refused question, which
    shows no quotes, counts as missed."""
    n = len(rows)
    shown = [row["answer_rank"] for row in rows if not row["refused"] and row["answer_rank"] is not None]
    figures = {"refused": round(sum(row["refused"] for row in rows) / n, 4)}
    for k in SHOWN_KS:
        figures[f"shown@{k}"] = round(sum(rank <= k for rank in shown) / n, 4)
    return figures


def ndcg(ranked: list[str], relevant: dict[str, int], depth: int = NDCG_DEPTH) -> float:
    """nDCG@depth with graded gains ``grade / log2(rank + 1)``."""
    dcg = sum(relevant.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranked[:depth], start=1))
    ideal = sorted(relevant.values(), reverse=True)[:depth]
    idcg = sum(grade / math.log2(rank + 1) for rank, grade in enumerate(ideal, start=1))
    return dcg / idcg if idcg else 0.0


def evaluate_beir(
    searcher: SearchFn,
    queries: list[BeirQuery],
    qrels: dict[str, dict[str, int]],
    *,
    on_question: Callable[[], None] | None = None,
) -> Report:
    """nDCG@10 and recall@100 over articles (each ranked by its best passage), and latency.

    Queries without judgements are skipped, as BEIR does.
    """
    judged = [q for q in queries if any(grade > 0 for grade in qrels.get(q.qid, {}).values())]
    total_ndcg = 0.0
    total_recall = 0.0
    latencies: list[float] = []
    rows: list[dict[str, Any]] = []
    for query in judged:
        relevant = {doc: grade for doc, grade in qrels[query.qid].items() if grade > 0}
        hits, took = _timed(searcher, query.text, RECALL_DEPTH, 1)
        latencies.append(took)
        ranked = [hit.article_id for hit in hits]
        score = ndcg(ranked, relevant)
        recall = len(set(ranked[:RECALL_DEPTH]) & relevant.keys()) / len(relevant)
        total_ndcg += score
        total_recall += recall
        rows.append(
            {
                "qid": query.qid,
                "query": query.text,
                "relevant": sorted(relevant),
                "ndcg@10": round(score, 4),
                "recall@100": round(recall, 4),
                "top10": ranked[:NDCG_DEPTH],
                "latency_ms": round(took, 3),
            }
        )
        if on_question:
            on_question()
    n = max(len(judged), 1)
    summary: dict[str, Any] = {
        "ndcg@10": round(total_ndcg / n, 4),
        "recall@100": round(total_recall / n, 4),
        "questions": len(judged),
        "latency_ms": latency_figures(latencies),
    }
    return Report(summary, rows)
