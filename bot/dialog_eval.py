"""Quality figures of whole conversations: each dialog replayed turn by turn, as a user sees it.

A dialogs file (INSCIT's format, ``../shared/eval/inscit/README.md``: one conversation a line,
``{"dialog_id", "turns": [{"turn", "question", "answerable", "gold": [{"article_id",
"paragraph_index"}]}]}``) is asked question by question through a :class:`~bot.conversation.Conversation`,
the same code ``wikiqa chat`` and the Telegram bot answer with, so each turn follows the bot's own
previous answers. A turn is a hit at k when one of the first k quotes shown overlaps a gold
paragraph (``article.split("\\n\\n")[paragraph_index]`` of the corpus file); a refused question
("no good match") shows none and is a miss.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.answer import Answer, Answerer
from bot.conversation import ENGLISH_REFERENCE_WORDS, Conversation
from retrieval.errors import SourceError
from retrieval.search.evaluate import latency_figures, read_jsonl

# INSCIT's follow-up rule's pronouns (../shared/eval/inscit/README.md), the English words the
# conversation takes as pointing back: the follow-ups that plainly need the conversation.
PRONOUNS = ENGLISH_REFERENCE_WORDS
DIALOG_KS = (1, 5)
_WORDS = re.compile(r"[a-z0-9]+")
_PARAGRAPH_BREAK = "\n\n"


@dataclass(frozen=True)
class Turn:
    number: int
    question: str
    answerable: bool
    gold: tuple[tuple[str, int], ...]

    @property
    def has_pronoun(self) -> bool:
        return any(word in PRONOUNS for word in _WORDS.findall(self.question.casefold()))


@dataclass(frozen=True)
class Dialog:
    dialog_id: str
    turns: tuple[Turn, ...]


def is_dialogs_file(path: Path) -> bool:
    """Whether ``path``'s first object is a conversation (has ``turns``); a file that is no JSONL
    is left to the questions reader, which names what is wrong with it."""
    try:
        for _, first in read_jsonl(path):
            return isinstance(first.get("turns"), list)
    except SourceError:
        return False
    return False


def load_dialogs(path: Path) -> list[Dialog]:
    """The dialogs of ``path``; a line that is not one is named in one sentence."""
    dialogs: list[Dialog] = []
    for number, raw in read_jsonl(path):
        try:
            turns = tuple(
                Turn(
                    int(t["turn"]),
                    str(t["question"]),
                    bool(t.get("answerable", bool(t.get("gold")))),
                    tuple((str(g["article_id"]), int(g["paragraph_index"])) for g in t.get("gold") or ()),
                )
                for t in raw["turns"]
            )
            dialogs.append(Dialog(str(raw["dialog_id"]), turns))
        except (KeyError, TypeError, ValueError) as err:
            raise SourceError(str(path), f"not a dialog ({err})", number) from None
    if not dialogs:
        raise SourceError(str(path), "holds no dialogs")
    return dialogs


def paragraph_bounds(articles: Path) -> dict[str, list[tuple[int, int]]]:
    """Each article's paragraphs as character ranges of its text (``\\n\\n`` between them)."""
    bounds: dict[str, list[tuple[int, int]]] = {}
    for _, raw in read_jsonl(articles):
        text = raw.get("article") or raw.get("text") or ""
        spans: list[tuple[int, int]] = []
        start = 0
        for paragraph in text.split(_PARAGRAPH_BREAK):
            spans.append((start, start + len(paragraph)))
            start += len(paragraph) + len(_PARAGRAPH_BREAK)
        bounds[str(raw.get("article_id") or raw.get("_id"))] = spans
    return bounds


def _first_hit(answer: Answer, turn: Turn, bounds: dict[str, list[tuple[int, int]]]) -> int | None:
    """The 1-based rank of the first quote overlapping a gold paragraph, or None."""
    for rank, quote in enumerate(answer.quotes, start=1):
        for article_id, index in turn.gold:
            spans = bounds.get(article_id, [])
            if quote.article_id == article_id and index < len(spans):
                start, end = spans[index]
                if quote.start < end and start < quote.end:
                    return rank
    return None


def evaluate_dialogs(
    answerer: Answerer,
    dialogs: list[Dialog],
    bounds: dict[str, list[tuple[int, int]]],
    *,
    quotes: int = 5,
    conversation: bool = True,
    on_dialog: Callable[[], None] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Replay ``dialogs``; ``(summary, one row per turn)``. ``conversation=False`` asks every
    question alone, as ``wikiqa ask`` would (the baseline)."""
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    for dialog in dialogs:
        chat = Conversation(answerer)
        for turn in dialog.turns:
            started = time.perf_counter()
            answer = (
                chat.ask(turn.question, k=quotes)
                if conversation
                else answerer.answer(turn.question, k=quotes)
            )
            latencies.append((time.perf_counter() - started) * 1000)
            rank = _first_hit(answer, turn, bounds)
            rows.append(
                {
                    "dialog_id": dialog.dialog_id,
                    "turn": turn.number,
                    "question": turn.question,
                    "answerable": turn.answerable,
                    "pronoun": turn.has_pronoun,
                    "no_match": answer.no_match,
                    "about": answer.about,
                    "rank": rank,
                    "titles": [q.title for q in answer.quotes],
                }
            )
        if on_dialog is not None:
            on_dialog()
    return summarize(rows, latencies), rows


def summarize(rows: list[dict[str, Any]], latencies: list[float]) -> dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    pronoun = [r for r in answerable if r["turn"] >= 2 and r["pronoun"]]
    summary: dict[str, Any] = {
        "dialogs": len({r["dialog_id"] for r in rows}),
        "turns": len(rows),
        "answerable": len(answerable),
        "pronoun_follow_ups": len(pronoun),
    }
    for k in DIALOG_KS:
        summary[f"hit@{k}"] = _share(answerable, k)
        summary[f"hit@{k}_pronoun"] = _share(pronoun, k)
    summary["no_match"] = sum(r["no_match"] for r in rows)
    summary["no_match_answerable"] = sum(r["no_match"] for r in answerable)
    summary["with_context"] = sum(r["about"] is not None for r in rows)
    summary["latency_ms"] = latency_figures(latencies)
    return summary


def _share(rows: list[dict[str, Any]], k: int) -> float:
    if not rows:
        return 0.0
    return round(sum(r["rank"] is not None and r["rank"] <= k for r in rows) / len(rows), 4)


def format_summary(summary: dict[str, Any]) -> str:
    lines = [
        f"{summary['dialogs']:,} dialogs, {summary['turns']:,} turns, {summary['answerable']:,} answerable",
    ]
    for k in DIALOG_KS:
        lines.append(f"  {'hit@' + str(k):<30}{summary[f'hit@{k}']:.3f}")
    for k in DIALOG_KS:
        label = f"hit@{k}, pronoun follow-ups"
        lines.append(f"  {label:<30}{summary[f'hit@{k}_pronoun']:.3f} (of {summary['pronoun_follow_ups']})")
    lines.append(
        f"  {'no good match':<30}{summary['no_match']} turns ({summary['no_match_answerable']} answerable)"
    )
    lines.append(f"  {'answered with context':<30}{summary['with_context']} turns")
    latency = summary["latency_ms"]
    lines.append(f"  {'latency_ms':<30}p50 {latency['p50']:.2f}, p99 {latency['p99']:.2f}")
    return "\n".join(lines)
