"""The answer line: the one sentence of the best passages that best answers the question.

Search ranks passages; a user wants one sentence to read first. Every sentence of the top few
passages is scored by how much of the question it covers, with refinements each measured on
../shared/eval/squad (5,397 questions; ``benchmarks/answer.py calibrate``):

- question terms are weighted by their rarity *among the candidate sentences* (a local IDF), so
  "Super Bowl" matters less than "AFC" when every candidate mentions the Super Bowl;
- sentences of the top four passages compete, each discounted by its passage's score relative
  to the best (squared), so a lower-ranked passage wins only with a clearly better sentence;
- the passage's title counts at half weight for each of its sentences (the subject is often
  unnamed: "Its capital is Astana" in the article on Kazakhstan);
- small bonuses for question bigrams kept in order, for terms covered by the sentence just
  before (pronouns: "It was signed in 1992"), and for an answer of the asked type (a number for
  "how many", a date for "when", a name for "who");
- a sentence over 300 characters competes clause by clause (cut at semicolons), so a run-on
  sentence is answered with its one relevant clause, at almost no cost in hit rate.

``wikiqa eval`` reports how often the chosen sentence holds a gold answer ("answer_line"); the
top passage's first sentence, or its sentence sharing most words with the question, holds one
far less often.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from retrieval.search.answer_type import asked_type, holds_type
from retrieval.search.hit import Hit
from retrieval.text.analysis import Analyzer
from retrieval.text.passages import looks_like_heading

CANDIDATE_PASSAGES = 4
RANK_EXPONENT = 2.0
BIGRAM_BONUS = 0.2
PREVIOUS_SENTENCE_BONUS = 0.2
ANSWER_TYPE_BONUS = 0.1
TITLE_SHARE = 0.5
# Two matched words count as adjacent when at most this much text, all stop words, lies between.
ADJACENT_GAP_CHARS = 24

LONG_SENTENCE_CHARS = 300
_CLAUSE_END = re.compile(r";\s+")


def matched_terms(hit: Hit, wanted: set[str], analyzer: Analyzer) -> list[tuple[str, int, int]]:
    """``(stem, start, end)`` of each question term in ``hit.text``, in order.

    The searcher has already found these (``hit.spans``), so only the matched words are stemmed
    again, not the whole passage: re-analyzing four passages would cost more than the search.
    A hit without spans (a title-only match, or one built by hand) is analyzed in full.
    """
    text = hit.text
    if not hit.spans:
        return [(stem, s, e) for stem, s, e in analyzer.terms_with_spans(text) if stem in wanted]
    # Each span is one word, so all of them are stemmed in one call (one call per span costs
    # four times as much); should the count not line up, each is stemmed alone.
    stems = analyzer.terms(" ".join(text[start:end] for start, end in hit.spans))
    if len(stems) != len(hit.spans):
        stems = [(analyzer.terms(text[start:end]) or [""])[0] for start, end in hit.spans]
    return [(stem, start, end) for stem, (start, end) in zip(stems, hit.spans, strict=True) if stem in wanted]


def _readable_pieces(text: str, sentences: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The sentences, with any longer than ``LONG_SENTENCE_CHARS`` cut at its semicolons.

    An answer line is read first and alone; a run-on sentence of clauses joined by semicolons
    (common in translated articles) is better shown as the one clause that answers.
    """
    pieces: list[tuple[int, int]] = []
    for start, end in sentences:
        if end - start <= LONG_SENTENCE_CHARS:
            pieces.append((start, end))
            continue
        cut = start
        for match in _CLAUSE_END.finditer(text, start, end):
            pieces.append((cut, match.start()))
            cut = match.end()
        pieces.append((cut, end))
    return pieces


@dataclass(slots=True)
class _Candidate:
    rank: int
    text: str
    terms: frozenset[str]  # question terms in the sentence
    bigrams: frozenset[tuple[str, str]]  # question terms next to each other (stop words between)
    title: frozenset[str]
    previous: frozenset[str]


def _candidates(hits: Sequence[Hit], wanted: set[str], analyzer: Analyzer) -> list[_Candidate]:
    out: list[_Candidate] = []
    for rank, hit in enumerate(hits[:CANDIDATE_PASSAGES]):
        title = frozenset(analyzer.terms(hit.title)) & wanted
        matches = matched_terms(hit, wanted, analyzer)
        previous: frozenset[str] = frozenset()
        pieces = _readable_pieces(hit.text, hit.sentences or ((0, len(hit.text)),))
        for start, end in pieces:
            text = hit.text[start:end].strip()
            # A section heading is never the answer; it heads text, so a passage's last piece
            # (or its only one: "Armenia signed the treaty") is read as a sentence.
            if not text or (end < pieces[-1][1] and looks_like_heading(text)):
                continue
            inside = [m for m in matches if start <= m[1] and m[2] <= end]
            bigrams = frozenset(
                (a[0], b[0])
                for a, b in pairwise(inside)
                if b[1] - a[2] <= ADJACENT_GAP_CHARS and not analyzer.terms(hit.text[a[2] : b[1]])
            )
            terms = frozenset(m[0] for m in inside)
            out.append(_Candidate(rank, text, terms, bigrams, title, previous))
            previous = terms
    return out


def answer_line(
    question: str, hits: Sequence[Hit], *, analyzer: Analyzer, type_bonus: float = ANSWER_TYPE_BONUS
) -> str | None:
    """The sentence of ``hits`` (best first) that best answers ``question``, or ``None``.

    ``None`` when there are no hits, the question has no content words, or no candidate sentence
    shares a single term with it. ``analyzer`` is the snapshot's, so that the question is read as
    the passages were. ``type_bonus`` is what an answer of the asked type adds to a sentence.
    """
    if not hits:
        return None
    question_terms = analyzer.terms(question)
    wanted = set(question_terms)
    if not wanted:
        return None
    candidates = _candidates(hits, wanted, analyzer)
    if not candidates:
        return None

    df: Counter[str] = Counter()
    for cand in candidates:
        df.update(cand.terms | cand.title)
    n = len(candidates)
    weight = {term: math.log(1 + n / (df[term] or 1)) for term in wanted}
    # Sums over sets go through math.fsum, exactly rounded in any order: a set's order changes
    # with each process's hash seed, and plain sums then differ in the last bit and flip near-ties.
    total = math.fsum(weight.values())
    bigrams = set(pairwise(question_terms))
    kind = asked_type(question)
    question_words = {w.casefold() for w in re.findall(r"\w+", question)}
    top_score = hits[0].score if hits[0].score > 0 else 1.0

    best_text: str | None = None
    best_score = 0.0
    for cand in candidates:
        present = cand.terms
        if not present:
            continue
        coverage = math.fsum(weight[t] for t in present) / total
        coverage += TITLE_SHARE * math.fsum(weight[t] for t in cand.title - present) / total
        if bigrams:
            coverage += BIGRAM_BONUS * len(bigrams & cand.bigrams) / len(bigrams)
        coverage += PREVIOUS_SENTENCE_BONUS * math.fsum(weight[t] for t in cand.previous - present) / total
        relative = max(hits[cand.rank].score, 0.0) / top_score
        score = coverage * relative**RANK_EXPONENT
        if kind and holds_type(kind, cand.text, question_words):
            score += type_bonus
        if score > best_score:
            best_text, best_score = cand.text, score
    return best_text
