"""``wikiqa eval``: quality figures of the current snapshot on a questions file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli._common import print_json, progress, settings

if TYPE_CHECKING:
    from retrieval.index.reader import Snapshot
    from retrieval.search.searcher import Searcher

_ORDER = (
    "answer@1",
    "answer@3",
    "answer@5",
    "article@1",
    "mrr",
    "quote_chars_mean",
    "answer_line",
    "ndcg@10",
    "recall@100",
    "refused",
    "shown@1",
    "shown@5",
)


def _format(summary: dict) -> str:
    lines = [f"{summary['questions']:,} questions"]
    for key in _ORDER:
        if key in summary:
            value = summary[key]
            lines.append(
                f"  {key:<17}{value:.1f}" if key == "quote_chars_mean" else f"  {key:<17}{value:.3f}"
            )
    latency = summary["latency_ms"]
    lines.append(f"  {'latency_ms':<17}p50 {latency['p50']:.2f}, p99 {latency['p99']:.2f}")
    for language, figures in summary.get("by_language", {}).items():
        shown = ", ".join(f"{key} {value:.3f}" for key, value in figures.items() if key != "questions")
        lines.append(f"  {language + ':':<17}{figures['questions']:,} questions, {shown}")
    return "\n".join(lines)


EXAMPLES = """\b
Examples:
  wikiqa eval squad/questions.jsonl --json        (SQuAD-style: question, answers, article_id)
  wikiqa eval ua-squad/questions.jsonl            (the same in Ukrainian: answer@k by language)
  wikiqa eval scifact/queries.jsonl --qrels scifact/qrels.tsv
  wikiqa eval inscit/dialogs.jsonl                (conversations, turn by turn)
"""


@click.command(epilog=EXAMPLES)
@click.argument("questions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--qrels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="BEIR relevance judgements (query-id, corpus-id, score); QUESTIONS is then BEIR queries.jsonl.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write one JSON line of results per question to this file (for error analysis).",
)
@click.option(
    "-k",
    "quotes",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="Quotes scored per question (SQuAD-style): quote_chars_mean and the answer line use these.",
)
@click.option("--limit", type=click.IntRange(1), help="Score only the first N questions.")
@click.option(
    "--semantic/--no-semantic",
    default=True,
    show_default=True,
    help="Use the snapshot's passage vectors, or measure BM25 and its rerank alone on the same snapshot.",
)
@click.option(
    "--articles",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Dialogs only: the corpus their gold paragraphs are in (default: articles.jsonl beside them).",
)
@click.option(
    "--alone",
    is_flag=True,
    help="Dialogs only: ask each question on its own, as 'wikiqa ask' does, instead of as a conversation.",
)
def eval_(
    questions: Path,
    qrels: Path | None,
    as_json: bool,
    out: Path | None,
    quotes: int,
    limit: int | None,
    semantic: bool,
    articles: Path | None = None,
    alone: bool = False,
) -> None:
    """Measure search quality on QUESTIONS with the current snapshot.

    SQuAD-style lines (question, answers, article_id) give answer@1/3/5 (a normalized gold
    answer occurs in one of the k best quotes), article@1, MRR@10, the mean quote length, the
    answer line's hit rate and search latency; the share refused ("no good match") and
    shown@1/@5, answer@k of what the user is shown (a refused question counts as missed). BEIR
    queries with --qrels give nDCG@10 and recall@100 over articles, each article ranked by its
    best passage. Dialogs (INSCIT-style lines with "turns") are replayed turn by turn through
    the chat's conversation code, scoring what the user is shown (a refused question shows no
    quotes): hit@1 and hit@5 (a quote overlapping a gold paragraph) over answerable turns, and
    over follow-ups with a pronoun.
    """
    from bot.answer import Answerer
    from bot.dialog_eval import is_dialogs_file

    if is_dialogs_file(questions):
        _eval_dialogs(
            questions,
            articles,
            as_json=as_json,
            out=out,
            quotes=quotes,
            limit=limit,
            semantic=semantic,
            alone=alone,
        )
        return
    from retrieval.errors import WikiqaError
    from retrieval.search.evaluate import BeirQuery, evaluate_beir, evaluate_squad, load_qrels, load_questions

    items = load_questions(questions)[:limit]
    is_beir = isinstance(items[0], BeirQuery)
    if is_beir and qrels is None:
        raise WikiqaError(f"{questions} holds BEIR queries: give their judgements with --qrels qrels.tsv")
    if not is_beir and qrels is not None:
        raise WikiqaError(f"{questions} holds SQuAD-style questions: --qrels applies to BEIR queries only")
    snapshot, searcher = _warm_searcher(semantic)
    answerer = Answerer(snapshot, make_searcher=lambda _: searcher)
    with progress("Evaluating", len(items), unit="questions") as advance:
        if is_beir:
            assert qrels is not None
            report = evaluate_beir(searcher, items, load_qrels(qrels), on_question=advance)  # type: ignore[arg-type]
        else:
            report = evaluate_squad(
                searcher,
                items,
                quotes=quotes,
                on_question=advance,
                refuses=answerer.refuses,  # type: ignore[arg-type]
            )
    _write_rows(out, report.rows)
    used = list(snapshot.info.semantic) if searcher.semantic is not None else []
    summary = dict(report.summary, snapshot=snapshot.info.version, semantic=used)
    if as_json:
        print_json(summary)
    else:
        click.echo(_format(summary))


def _eval_dialogs(
    path: Path,
    articles: Path | None,
    *,
    as_json: bool,
    out: Path | None,
    quotes: int,
    limit: int | None,
    semantic: bool,
    alone: bool,
) -> None:
    """``wikiqa eval dialogs.jsonl``: each dialog replayed through a ``Conversation``."""
    from bot.answer import Answerer
    from bot.dialog_eval import evaluate_dialogs, format_summary, load_dialogs, paragraph_bounds
    from retrieval.errors import WikiqaError

    articles = articles or path.with_name("articles.jsonl")
    if not articles.is_file():
        raise WikiqaError(f"{path} holds dialogs: give the corpus file their gold refers to with --articles")
    dialogs = load_dialogs(path)[:limit]
    snapshot, searcher = _warm_searcher(semantic)
    answerer = Answerer(snapshot, make_searcher=lambda _: searcher)
    with progress("Evaluating", len(dialogs), unit="dialogs") as advance:
        summary, rows = evaluate_dialogs(
            answerer,
            dialogs,
            paragraph_bounds(articles),
            quotes=quotes,
            conversation=not alone,
            on_dialog=advance,
        )
    _write_rows(out, rows)
    summary = dict(summary, snapshot=snapshot.info.version, conversation=not alone)
    if as_json:
        print_json(summary)
    else:
        click.echo(format_summary(summary))


def _warm_searcher(semantic: bool) -> tuple[Snapshot, Searcher]:
    """The current snapshot and its searcher, warmed up with the bot's warm-up questions as the
    bot is before its first question, so that latency is the search's, not the model's load."""
    from bot.answer import WARM_UP_QUESTIONS
    from retrieval.index.publish import load_snapshot
    from retrieval.search.searcher import DEFAULT_SEMANTIC, Searcher

    snapshot = load_snapshot(settings().snapshots_dir)
    searcher = Searcher(snapshot, semantic=DEFAULT_SEMANTIC if semantic else None)
    for question in WARM_UP_QUESTIONS:
        searcher.search(question, 1)
    return snapshot, searcher


def _write_rows(out: Path | None, rows: Iterable[dict]) -> None:
    """One JSON line per row to ``out``, when given (``--out``)."""
    if out is None:
        return
    with out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
