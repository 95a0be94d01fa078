"""The answering service every front end calls: question in, format-neutral Answer out.

:class:`Answerer` knows nothing of terminals or Telegram. It searches the current snapshot, picks
the answer line, pages the quotes, says "no good match" when the evidence is weak, and offers
spelling corrections drawn from the snapshot's own words. One instance serves many threads: the
snapshot it reads is immutable, and the few caches it keeps are guarded by a lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.conversation import Context, is_elliptic, refers_back
from bot.examples import question_about
from retrieval.search.answer_line import CANDIDATE_PASSAGES
from retrieval.search.coverage import coverage as passage_coverage
from retrieval.search.hit import Hit, Span
from retrieval.search.searcher import MAX_QUESTION_CHARS, bounded_question
from retrieval.search.semantic import MIN_STANDOUT
from retrieval.text.passages import looks_like_heading

if TYPE_CHECKING:
    from retrieval.index.reader import Snapshot

QUOTES_PER_PAGE = 3
# Beyond this page there is nothing new worth reading; it also bounds the work a "More" costs.
MAX_PAGE = 10
# IDF-weighted share of the question's terms the best passage must hold (its title included) for
# an answer to be shown, on a lexical-only snapshot. Calibrated with ``benchmarks/answer.py
# calibrate`` on a snapshot of ../shared/eval/squad: at 0.45, 5.1% of the SQuAD questions are
# refused while 92% of SciFact claims, unrelated to that corpus, are refused.
MIN_COVERAGE = 0.45
# With the semantic stage an English question is refused only when its best passage holds less
# than SEMANTIC_MIN_COVERAGE of it and no sentence of the passages nearest it means what it asks
# (best cosine under MIN_SUPPORT). Shared SQuAD questions refused: 4.6% with the SQuAD corpus,
# 88.4% asked of the SciFact abstracts alone (coverage 0.45 alone: 5.8% and 84.7%); SciFact's
# claims asked of the SQuAD corpus: 82% (coverage alone: 92%; at 0.86, 3.1%, 87.3% and 69%).
SEMANTIC_MIN_COVERAGE = 0.5
MIN_SUPPORT = 0.87
# Questions that load everything answering needs before the first real one: the snapshot, and
# with the semantic stage the model and what each path reads (an English question rescores its
# candidates' vectors, a Russian one searches the nearest-neighbour index).
WARM_UP_QUESTIONS = ("warm up", "разогрев")
# In a conversation, a question that points back ("when was it founded?") is searched again with
# the conversation's subject added, and the result is kept unless its best passage holds this much
# less of the question's own terms than the one found without it. On ../shared/eval/inscit's
# shared dialogs (lexical snapshot, ``wikiqa eval dialogs.jsonl``), follow-ups with a pronoun are
# answered at 5 in 11 of 17 at 0.1 to 0.3, 12 at 0.5; at 1 (always) a self-contained "How about
# in Canada?" loses the answer it had. A question that does not point back takes the subject only
# when it is refused on its own: taking it below 0.6 or 0.75 coverage lost 1 and 3 answers. Asked
# in order as one conversation, SQuAD's questions are answered at 5 0.940 against 0.921 alone.
REFERENCE_MARGIN = 0.5
# The share of a follow-up's own terms its best passage must hold, the subject's words aside: with
# the subject's title counted alone, "What is quantum chromodynamics?" after the CSTO would be
# answered with the CSTO. On the INSCIT dialogs, 0.25 refuses 3 more turns than 0 for the same
# hit@5 on follow-ups with a pronoun (0.706) and one answerable turn less found (0.810, not 0.815);
# 0.45, the rule for a question alone, finds 0.778 and 0.588.
FOLLOW_UP_OWN_COVERAGE = 0.25
# A refused question is offered natural questions about the articles of its best few passages
# that hold at least this share of it: near enough to be what was meant, not noise.
NEARBY_HITS = 3
NEARBY_COVERAGE = 0.25
NEARBY_SUGGESTIONS = 2
# What a sentence holding the asked type of answer (a date for "when") adds to its score when a
# follow-up's answer line is read from its subject's passages: the question's own words are few
# ("When was it founded?" has one), so the date weighs more than outside a conversation (0.1).
# At 0.3 "When was it founded?" after the seed corpus's Shanghai Cooperation Organisation gets
# its "On June 15, 2001 ..." sentence rather than "The founding declaration described ...".
FOLLOW_UP_TYPE_BONUS = 0.3


@dataclass(frozen=True, slots=True)
class Quote:
    text: str
    title: str
    article_id: str
    link: str
    score: float
    spans: tuple[Span, ...]
    start: int = 0
    end: int = 0
    headings: tuple[Span, ...] = ()  # section headings inside ``text``, to show as headings


@dataclass(frozen=True, slots=True)
class Answer:
    """What the user is shown for one question (one page of it).

    ``answer`` is the answer line (one sentence), ``None`` when there is no good match.
    ``page`` counts from 1; ``has_more`` says whether page + 1 would show further quotes.
    ``about`` is the conversation's subject when the question was resolved with it (a follow-up
    such as "When was it founded?"), and ``searched`` the text that was searched for then.
    """

    question: str
    answer: str | None
    quotes: tuple[Quote, ...]
    no_match: bool
    suggestions: tuple[str, ...] = ()
    page: int = 1
    has_more: bool = False
    took_ms: float = 0.0
    truncated: bool = False
    snapshot_version: str = ""
    extra: dict = field(default_factory=dict)
    about: str | None = None
    searched: str = ""

    def to_json(self) -> dict[str, Any]:
        """The ``wikiqa ask --json`` object; scripts read these keys, so they only ever grow."""
        return {
            "question": self.question,
            "answer": self.answer,
            "no_match": self.no_match,
            "suggestions": list(self.suggestions),
            "quotes": [
                {
                    "text": q.text,
                    "title": q.title,
                    "article_id": q.article_id,
                    "link": q.link,
                    "score": round(q.score, 4),
                    "spans": [list(span) for span in q.spans],
                }
                for q in self.quotes
            ],
            "took_ms": round(self.took_ms, 3),
        }


def _quote(hit: Hit) -> Quote:
    headings = tuple((s, e) for s, e in hit.sentences if looks_like_heading(hit.text[s:e]))
    return Quote(
        hit.text, hit.title, hit.article_id, hit.link, hit.score, hit.spans, hit.start, hit.end, headings
    )


SnapshotSource = Callable[[], "Snapshot"]


class SearchLike(Protocol):
    def search(
        self,
        question: str,
        k: int = 10,
        *,
        per_article: int | None = None,
        asked: str | None = None,
    ) -> list[Hit]: ...
    def semantic_support(self, question: str) -> float | None: ...
    def answer_line(self, question: str, hits: list[Hit], *, type_bonus: float = ...) -> str | None: ...


def _as_source(snapshots: Any) -> SnapshotSource:
    """Accept a ``LiveSnapshot`` (anything with ``.current()``), a callable, or one snapshot."""
    current = getattr(snapshots, "current", None)
    if callable(current):
        return current
    if callable(snapshots):
        return snapshots
    return lambda: snapshots


class Answerer:
    """Answers questions from whatever snapshot ``snapshots`` currently gives.

    ``snapshots`` is a ``LiveSnapshot`` (long-running processes: a reindex is picked up on the
    next question), a zero-argument callable returning a snapshot, or a snapshot itself.
    """

    def __init__(
        self,
        snapshots: Any,
        *,
        quotes_per_page: int = QUOTES_PER_PAGE,
        max_question_chars: int = MAX_QUESTION_CHARS,
        min_coverage: float = MIN_COVERAGE,
        make_searcher: Callable[[Snapshot], SearchLike] | None = None,
    ) -> None:
        if quotes_per_page < 1:
            raise ValueError("quotes_per_page must be at least 1")
        self._snapshots = _as_source(snapshots)
        self.quotes_per_page = quotes_per_page
        self.max_question_chars = max_question_chars
        self.min_coverage = min_coverage
        self._make_searcher = make_searcher
        self._lock = threading.Lock()
        self._searcher: tuple[Any, SearchLike] | None = None

    def snapshot(self) -> Snapshot:
        return self._snapshots()

    def _searcher_for(self, snapshot: Snapshot) -> SearchLike:
        """One searcher per snapshot, replaced when a reindex swaps a new snapshot in."""
        with self._lock:
            if self._searcher is None or self._searcher[0] is not snapshot:
                if self._make_searcher is None:
                    from retrieval.search.searcher import Searcher

                    self._searcher = (snapshot, Searcher(snapshot))
                else:
                    self._searcher = (snapshot, self._make_searcher(snapshot))
            return self._searcher[1]

    def answer(
        self, question: str, *, page: int = 1, k: int | None = None, context: Context | None = None
    ) -> Answer:
        """One page of the answer to ``question``; ``k`` overrides quotes per page.

        ``context`` is what the conversation holds before this question (``bot.conversation``):
        a question that needs it is searched with its subject, and the answer's ``about`` says so.
        Pages of one answer are asked for with the same ``context``.
        """
        started = time.perf_counter()
        per_page = k if k and k > 0 else self.quotes_per_page
        page = min(max(int(page), 1), MAX_PAGE)
        whole = " ".join(question.split())
        question = bounded_question(whole, self.max_question_chars)
        truncated = len(question) < len(whole)
        snapshot = self.snapshot()
        version = str(snapshot.info.version)
        wanted = max(per_page * page + 1, CANDIDATE_PASSAGES)
        searcher = self._searcher_for(snapshot)
        hits = searcher.search(question, k=wanted) if question else []
        coverage, enough = self._evidence(question, hits, snapshot)
        searched, about = question, None
        if context is not None and question and not context.expired():
            alone = (coverage, enough)
            resolved = self._follow_up(question, alone, context, wanted, snapshot, searcher)
            if resolved is not None:
                searched, hits, coverage, about = resolved
                enough = True
        no_match = not enough
        # Spelling suggestions come from the corpus's English words: none for another language.
        cross_lingual = bool(hits) and hits[0].similarity is not None
        suggestions = self.suggestions(question, snapshot) if question and not cross_lingual else ()
        if no_match and not suggestions and not cross_lingual:
            suggestions = self._nearby_questions(question, hits, snapshot)
        if no_match:
            line, shown, has_more = None, (), False
        else:
            line = self._answer_line(searcher, searched, hits, context if about else None)
            shown = tuple(_quote(h) for h in hits[(page - 1) * per_page : page * per_page])
            has_more = len(hits) > page * per_page and page < MAX_PAGE
        return Answer(
            question=question,
            answer=line,
            quotes=shown,
            no_match=no_match,
            suggestions=suggestions,
            page=page,
            has_more=has_more,
            took_ms=(time.perf_counter() - started) * 1000,
            truncated=truncated,
            snapshot_version=version,
            extra={"coverage": round(coverage, 4), "first_quote": (page - 1) * per_page + 1},
            about=about,
            searched=searched,
        )

    def _follow_up(
        self,
        question: str,
        alone: tuple[float, bool],
        context: Context,
        wanted: int,
        snapshot: Snapshot,
        searcher: SearchLike,
    ) -> tuple[str, list[Hit], float, str] | None:
        """``(searched, hits, coverage, subject)`` when ``question`` is better answered as a
        follow-up of ``context``; None when it stands on its own (it is then answered as if alone).

        A question needs the conversation when it points back (a pronoun, "and in 1995?") or when
        it is refused on its own. It is then searched again with the subject (the title of the
        article last quoted first) added, an elliptic one ("and in 1995?") also with the previous
        question, and the best of these is kept when it is a good match that holds about as much
        of the question's own terms as the search without it. ``alone`` is the evidence of the
        search without it, and whether that was enough.
        """
        own_evidence, enough = alone
        subject = context.subject
        if subject is None:
            return None
        points_back = refers_back(question)
        if not points_back and enough:
            return None
        analyzer = snapshot.analyzer
        if set(analyzer.terms(subject)) <= set(analyzer.terms(question)):
            return None  # it names the subject itself: "Who was MVP of Super Bowl 50, and what did he ..."
        own_alone = own_evidence if enough else 0.0
        best: tuple[float, str, list[Hit], float] | None = None
        for searched in _with_context(question, context, subject):
            found = searcher.search(searched, k=wanted, asked=question)
            coverage, good = self._evidence(searched, found, snapshot)
            # The question's own words must be found too: the subject's alone would answer
            # "What is quantum chromodynamics?" with the last article quoted.
            own_found, own_good = self._evidence(question, found, snapshot)
            own_good = own_good or (found[0].similarity is None and own_found >= FOLLOW_UP_OWN_COVERAGE)
            keep = good and own_good and own_found >= own_alone - REFERENCE_MARGIN
            if keep and (best is None or own_found > best[0]):
                best = (own_found, searched, found, coverage)
        if best is None:
            return None
        _, searched, found, coverage = best
        return searched, found, coverage, subject

    def _answer_line(
        self,
        searcher: SearchLike,
        searched: str,
        hits: list[Hit],
        context: Context | None,
    ) -> str | None:
        """The answer line; a follow-up's is read from its subject's passages where it has some
        (the pronoun names the subject: a sentence of another article naming it answers less)."""
        if context is None or not hits or hits[0].similarity is not None:
            return searcher.answer_line(searched, hits)
        subject_id = context.articles[0][0]
        about_subject = [hit for hit in hits[:CANDIDATE_PASSAGES] if hit.article_id == subject_id]
        if not about_subject:
            return searcher.answer_line(searched, hits)
        return searcher.answer_line(searched, about_subject, type_bonus=FOLLOW_UP_TYPE_BONUS)

    def _nearby_questions(self, question: str, hits: list[Hit], snapshot: Snapshot) -> tuple[str, ...]:
        """For a refused question with no misspelling: natural questions about the articles of the
        best passages that hold some of it ("What is the Collective Security Treaty
        Organization?"), which the user may have meant."""
        out: list[str] = []
        for hit in hits[:NEARBY_HITS]:
            if passage_coverage(question, hit, snapshot) < NEARBY_COVERAGE:
                continue
            try:
                nearby = question_about(snapshot, hit.passage_id)
            except (IndexError, ValueError):  # a hit from another searcher's snapshot
                continue
            if nearby and nearby not in out and nearby.casefold() != question.casefold():
                out.append(nearby)
            if len(out) == NEARBY_SUGGESTIONS:
                break
        return tuple(out)

    def suggestions(self, question: str, snapshot: Snapshot | None = None) -> tuple[str, ...]:
        """Corrected versions of ``question``, one per alternative, when some word is unknown.

        A word is known when the corpus has it or its stem; only unknown words are replaced.
        """
        snapshot = snapshot or self.snapshot()
        unknown = [
            (start, end, question[start:end])
            for stem, start, end in snapshot.analyzer.terms_with_spans(question)
            if stem not in snapshot.index.vocab and question[start:end].isalpha()
        ]
        if not unknown:
            return ()
        options = [(start, end, snapshot.spelling.corrections(word)) for start, end, word in unknown]
        options = [(start, end, found) for start, end, found in options if found]
        if not options:
            return ()
        out: list[str] = []
        for choice in range(max(len(found) for _, _, found in options)):
            text = question
            for start, end, found in reversed(options):
                text = (
                    text[:start]
                    + _same_case(text[start:end], found[min(choice, len(found) - 1)])
                    + text[end:]
                )
            if text not in out and self._answerable(text, snapshot):
                out.append(text)
        return tuple(out)

    def _answerable(self, question: str, snapshot: Snapshot) -> bool:
        """Whether ``question`` would get a real answer: a correction that still finds nothing
        ("how do I lake a chocolate lake") is noise, not help."""
        hits = self._searcher_for(snapshot).search(question, k=1)
        return self._evidence(question, hits, snapshot)[1]

    def refuses(self, question: str, hits: list[Hit]) -> bool:
        """Whether ``hits`` (best first) are too weak an answer to ``question`` to be shown: the
        "no good match" rule, for whoever scores what users see (``wikiqa eval``)."""
        return not self._evidence(question, hits, self.snapshot())[1]

    def _evidence(self, question: str, hits: list[Hit], snapshot: Snapshot) -> tuple[float, bool]:
        """How well the best hit answers, and whether that is a good match: its similarity to a
        question asked in another language (whose words the corpus does not share) against
        ``MIN_STANDOUT``; else the share of the question's terms it holds against
        ``min_coverage``, or with the semantic stage against ``SEMANTIC_MIN_COVERAGE`` unless a
        sentence of the corpus means what the question asks (``MIN_SUPPORT``)."""
        if not hits:
            return 0.0, False
        top = hits[0]
        if top.similarity is not None:
            return top.similarity, top.similarity >= MIN_STANDOUT
        coverage = passage_coverage(question, top, snapshot)
        if coverage >= max(self.min_coverage, SEMANTIC_MIN_COVERAGE):
            return coverage, True
        support = self._searcher_for(snapshot).semantic_support(question)
        if support is None:
            return coverage, coverage >= self.min_coverage
        return coverage, support >= MIN_SUPPORT


def _with_context(question: str, context: Context, subject: str) -> list[str]:
    """The texts a follow-up is searched as: with the subject, and an elliptic one ("and in
    1995?") with the previous question too."""
    texts = [f"{question} {subject}"]
    if is_elliptic(question) and context.question:
        texts.append(f"{context.question} {question}")
    return texts


def _same_case(typed: str, word: str) -> str:
    """``word`` cased like ``typed``: "Securty" suggests "Security", "CSTP" suggests "CSTO"."""
    if typed.isupper() and len(typed) > 1:
        return word.upper()
    if typed[:1].isupper():
        return word[:1].upper() + word[1:]
    return word
