"""Does a passage hold the kind of thing the question asks for?

"When was the treaty signed?" wants a date, "How many members..." a number, "Who founded..." a
name that is not in the question. Term matching cannot see this, so among the best few
candidates the searcher raises those whose best-matching sentence holds an answer of the asked
type (on SQuAD this helps answer@1 on both halves of the questions): :func:`prefer_asked_type`.
"""

from __future__ import annotations

import re
from typing import Protocol

import numpy as np

from retrieval.search.rerank import among

# Only this many of the best candidates are checked: it needs their text, which costs a decode.
ANSWER_TYPE_DEPTH = 10

# English, then Russian and Ukrainian (questions in another language are answered from the
# multilingual embeddings, and their answer line prefers a sentence of the asked type too).
_ASKS_NUMBER = re.compile(
    r"\bhow (?:many|much|long|old|far|large|big|tall|high)\b|\bwhat (?:percentage|percent|number)\b"
    r"|\bсколько\b|\bскільки\b|\bкаков[аоы]? (?:длина|высота|площадь|население|численность)\b"
    r"|\bяк(?:а|ий|е) (?:довжина|висота|площа|населення|чисельність|кількість|відсоток)\b"
)
_ASKS_DATE = re.compile(
    r"\bwhen\b|\b(?:what|which) (?:year|century|decade|date|day|month)\b"
    r"|\bкогда\b|\bколи\b|\bв как(?:ом|ие) (?:году|годах|веке)\b|\bв яко(?:му|го) (?:році|роках|столітті)\b"
    r"|\bкак(?:ого|ой) (?:года|даты|числа)\b|\bяко(?:го|ї) (?:року|дати|століття)\b|\bкотрого року\b"
)
_ASKS_PERSON = re.compile(r"\bwho(?:m|se)?\b|\b(?:кто|кого|кому|кем|чей|хто|ким|чий)\b")
_DIGIT = re.compile(r"\d")
_DATE = re.compile(
    r"\b(?:1\d{3}|20\d{2})\b|\b(?:January|February|March|April|May|June|July|August|September"
    r"|October|November|December)\b"
)
_NAME = re.compile(r"\b[A-Z][a-z]+")


class Tokens(Protocol):
    def passage_tokens(self, pid: int) -> np.ndarray: ...
    def sentence_token_starts(self, pid: int) -> np.ndarray: ...


class TypedSource(Tokens, Protocol):
    """What :func:`prefer_asked_type` reads of the candidates: tokens, texts and sentences."""

    def text(self, pid: int) -> str: ...
    def sentence_spans(self, pid: int) -> tuple[tuple[int, int], ...]: ...


def asked_type(question: str) -> str | None:
    """ "number", "date", "person" or None (no recognisable answer type)."""
    lowered = question.casefold()
    if _ASKS_NUMBER.search(lowered):
        return "number"
    if _ASKS_DATE.search(lowered):
        return "date"
    if _ASKS_PERSON.search(lowered):
        return "person"
    return None


def holds_type(kind: str, sentence: str, question_words: set[str]) -> bool:
    """Whether ``sentence`` holds an answer of ``kind`` (a name must not be one of the question's words)."""
    if kind == "number":
        return bool(_DIGIT.search(sentence))
    if kind == "date":
        return bool(_DATE.search(sentence))
    return any(m.group().casefold() not in question_words for m in _NAME.finditer(sentence))


def best_sentence(source: Tokens, pid: int, query_ids: np.ndarray) -> int | None:
    """Index of the passage sentence holding the most distinct question terms (None: no match)."""
    tokens = np.asarray(source.passage_tokens(pid))
    starts = np.asarray(source.sentence_token_starts(pid))
    if len(tokens) == 0 or len(starts) == 0:
        return None
    positions = np.flatnonzero(among(tokens, query_ids))
    if len(positions) == 0:
        return None
    sentence_of = np.maximum(np.searchsorted(starts, positions, side="right") - 1, 0)
    span = int(tokens.max()) + 1
    distinct = np.unique(sentence_of * span + tokens[positions]) // span
    counts = np.bincount(distinct, minlength=len(starts))
    return int(np.argmax(counts))


def prefer_asked_type(
    question: str,
    question_words: set[str],
    query_ids: np.ndarray,
    pids: np.ndarray,
    scores: np.ndarray,
    source: TypedSource,
    weight: float,
) -> None:
    """Raise, in place, the ``scores`` of the best few candidates whose best sentence holds what
    the question asks for (a number for "how many", a date for "when", a name for "who"), by
    ``weight`` times the best score."""
    kind = asked_type(question)
    if kind is None:
        return
    top = np.argsort(-scores, kind="stable")[:ANSWER_TYPE_DEPTH]
    bonus = weight * float(scores[top[0]])
    for row in top:
        pid = int(pids[row])
        number = best_sentence(source, pid, query_ids)
        sentences = source.sentence_spans(pid)
        if number is None or number >= len(sentences):
            continue
        start, end = sentences[number]
        if holds_type(kind, source.text(pid)[start:end], question_words):
            scores[row] += bonus
