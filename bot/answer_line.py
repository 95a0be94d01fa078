"""The answer line: the one sentence of the best passages that best answers the question.

Search ranks passages; a user wants one sentence to read first. Every sentence of the top few
passages is scored by how much of the question it covers, with three refinements measured on
../shared/eval/squad (5,397 questions, bm25s top passages; see the closing note of issue 4):

- question terms are weighted by their rarity *among the candidate sentences* (a local IDF), so
  "Super Bowl" matters less than "AFC" when every candidate mentions the Super Bowl;
- a sentence's coverage is discounted by its passage's score relative to the best passage, so a
  lower-ranked passage wins only with a clearly better sentence;
- small bonuses for question bigrams kept in order, for terms covered by the sentence just
  before (pronouns: "It was signed in 1992"), and for an answer of the asked type (a number for
  "how many", a date for "when", a name for "who").

Each of these helps by 0.3 to 2 points; together they take the anchor (best-overlap sentence of
the top passage, 0.648 here) to about 0.69.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from retrieval.analysis import Analyzer
from retrieval.hit import Hit

CANDIDATE_PASSAGES = 4
RANK_EXPONENT = 2.0
BIGRAM_BONUS = 0.2
PREVIOUS_SENTENCE_BONUS = 0.2
ANSWER_TYPE_BONUS = 0.1

_NUMBER = re.compile(r"\d")
_DATE = re.compile(
    r"\b(?:1\d{3}|20\d{2})\b|\b(?:January|February|March|April|May|June|July|August|September"
    r"|October|November|December)\b"
)
_NAME = re.compile(r"\b[A-Z][a-z]+")
_ASKS_NUMBER = re.compile(
    r"\bhow (?:many|much|long|old|far|large|big|tall|high)\b|\bwhat (?:percentage|percent|number)\b"
)
_ASKS_DATE = re.compile(r"\bwhen\b|\b(?:what|which) (?:year|century|decade|date|day|month|time)\b")
_ASKS_PERSON = re.compile(r"\bwho(?:m|se)?\b")


@lru_cache(maxsize=1)
def _default_analyzer() -> Analyzer:
    return Analyzer()


def _asked_type(question: str) -> str | None:
    lowered = question.casefold()
    if _ASKS_NUMBER.search(lowered):
        return "number"
    if _ASKS_DATE.search(lowered):
        return "date"
    if _ASKS_PERSON.search(lowered):
        return "person"
    return None


def _has_asked_type(kind: str | None, sentence: str, question_words: set[str]) -> bool:
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "date":
        return bool(_DATE.search(sentence))
    if kind == "person":
        return any(m.group().casefold() not in question_words for m in _NAME.finditer(sentence))
    return False


@dataclass(slots=True)
class _Candidate:
    rank: int
    text: str
    terms: list[str]
    previous: frozenset[str]


def _candidates(hits: Sequence[Hit], analyzer: Analyzer) -> list[_Candidate]:
    out: list[_Candidate] = []
    for rank, hit in enumerate(hits[:CANDIDATE_PASSAGES]):
        previous: frozenset[str] = frozenset()
        for start, end in hit.sentences or ((0, len(hit.text)),):
            text = hit.text[start:end].strip()
            if not text:
                continue
            terms = analyzer.terms(text)
            out.append(_Candidate(rank, text, terms, previous))
            previous = frozenset(terms)
    return out


def answer_line(question: str, hits: Sequence[Hit], *, analyzer: Analyzer | None = None) -> str | None:
    """The sentence of ``hits`` (best first) that best answers ``question``, or ``None``.

    ``None`` when there are no hits, the question has no content words, or no candidate sentence
    shares a single term with it. ``analyzer`` should be the snapshot's; the default is the
    production analyzer, which is what ``wikiqa eval`` calls this with.
    """
    if not hits:
        return None
    analyzer = analyzer or _default_analyzer()
    question_terms = analyzer.terms(question)
    wanted = set(question_terms)
    if not wanted:
        return None
    candidates = _candidates(hits, analyzer)
    if not candidates:
        return None

    df: Counter[str] = Counter()
    for cand in candidates:
        df.update(wanted.intersection(cand.terms))
    n = len(candidates)
    weight = {term: math.log(1 + n / (df[term] or 1)) for term in wanted}
    total = sum(weight.values())
    bigrams = set(pairwise(question_terms))
    kind = _asked_type(question)
    question_words = {w.casefold() for w in re.findall(r"\w+", question)}
    top_score = hits[0].score if hits[0].score > 0 else 1.0

    best_text: str | None = None
    best_score = 0.0
    for cand in candidates:
        present = wanted.intersection(cand.terms)
        if not present:
            continue
        coverage = sum(weight[t] for t in present) / total
        if bigrams:
            kept = bigrams.intersection(pairwise(cand.terms))
            coverage += BIGRAM_BONUS * len(kept) / len(bigrams)
        coverage += (
            PREVIOUS_SENTENCE_BONUS * sum(weight[t] for t in (cand.previous & wanted) - present) / total
        )
        relative = max(hits[cand.rank].score, 0.0) / top_score
        score = coverage * relative**RANK_EXPONENT
        if _has_asked_type(kind, cand.text, question_words):
            score += ANSWER_TYPE_BONUS
        if score > best_score:
            best_text, best_score = cand.text, score
    return best_text
