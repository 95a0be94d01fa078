"""Question in, ranked quotable passages out: analysis, BM25 first stage, rerank, then hits.

The searcher works on one loaded snapshot and never touches the article store, so it keeps
answering while the database is down or a reindex runs. Ranked lists are cached per question,
so asking again for a longer list (page 2, page 3) costs a slice, not a search.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from retrieval.lru import LruCache
from retrieval.search.answer_line import ANSWER_TYPE_BONUS, answer_line
from retrieval.search.answer_type import asked_type, holds_type, prefer_asked_type
from retrieval.search.hit import Hit, Span
from retrieval.search.rerank import QuestionTerms, RerankParams, score_candidates
from retrieval.search.semantic import MISSING_NAMES_COST, SemanticParams, SemanticStage, usable_vectors
from retrieval.semantic.language import is_foreign
from retrieval.text.names import question_names

# Questions longer than this are cut before analysis: a pasted page must not cost more than a
# question, and nothing past the first thousand characters changes what a person asked.
MAX_QUESTION_CHARS = 1000
# At most this many distinct terms (the rarest ones) go to the first stage.
MAX_QUERY_TERMS = 48
# How many hits a ranked list is computed for at least, so that pages 2 and 3 are cached.
MIN_RANKED = 15

# Titles analyzed and kept per searcher (a title is short; 100k of them is a few tens of MB).
TITLE_CACHE = 100_000

# Questions whose language was told, remembered per searcher.
FOREIGN_CACHE = 4096

DEFAULT_RERANK = RerankParams()
DEFAULT_SEMANTIC = SemanticParams()
# What an answer of the asked type adds to a sentence's cosine with a foreign question.
CROSS_LINGUAL_TYPE_BONUS = 0.1

if TYPE_CHECKING:
    from retrieval.index.reader import Snapshot, StoredPassage

_Ranked = list[tuple[int, float]]  # (passage id, score), best first


def bounded_question(question: str, limit: int = MAX_QUESTION_CHARS) -> str:
    """``question`` cut to its first ``limit`` characters, as every public method of
    :class:`Searcher` takes it on entry (so that all it computes, cached or not, is of the cut
    question)."""
    return question[:limit]


class Searcher:
    """Ranks a snapshot's passages for questions; cheap to construct, safe to share between threads."""

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        rerank: RerankParams = DEFAULT_RERANK,
        semantic: SemanticParams | None = DEFAULT_SEMANTIC,
        cache_size: int = 256,
    ):
        """``semantic=None`` searches lexically even when the snapshot holds passage vectors."""
        self.snapshot = snapshot
        vectors = usable_vectors(snapshot) if semantic else None
        self.semantic = SemanticStage(vectors, semantic) if semantic and vectors else None
        self.analyzer = snapshot.analyzer
        self.rerank = rerank
        self._idf = np.asarray(snapshot.index.idf)
        # (question, per_article, foreign) -> (length asked for, ranked list)
        self._cache: LruCache[tuple[str, int | None, bool], tuple[int, _Ranked]]
        self._cache = LruCache(cache_size)
        self._titles: LruCache[int, frozenset[str]] = LruCache(TITLE_CACHE)  # article -> title stems
        self._foreign: LruCache[str, bool] = LruCache(FOREIGN_CACHE)

    def _query(self, question: str) -> QuestionTerms:
        words = [(word, stem) for word, stem, _, _ in self.analyzer.words_with_terms(question)]
        counts = Counter(stem for _, stem in words)
        ids: list[int] = []
        freqs: list[int] = []
        stems: list[str] = []
        vocab = self.snapshot.index.vocab  # remembers its lookups: questions reuse their words
        for term, count in counts.items():
            term_id = vocab.get(term)
            if term_id is not None:
                ids.append(int(term_id))
                freqs.append(count)
                stems.append(term)
        if not ids:
            return QuestionTerms(np.zeros(0, dtype=np.int64), np.zeros(0), [], words)
        id_array = np.asarray(ids, dtype=np.int64)
        weights = self._idf[id_array] * np.asarray(freqs, dtype=np.float64)
        if len(ids) > MAX_QUERY_TERMS:
            keep = np.sort(np.argsort(-self._idf[id_array], kind="stable")[:MAX_QUERY_TERMS])
            id_array, weights = id_array[keep], weights[keep]
            stems = [stems[i] for i in keep.tolist()]
        return QuestionTerms(id_array, weights, stems, words)

    def search(
        self,
        question: str,
        k: int = 10,
        *,
        per_article: int | None = None,
        asked: str | None = None,
    ) -> list[Hit]:
        """The ``k`` best passages for ``question``, no two quoting overlapping text.

        An empty, stop-word-only or unmatched question gives ``[]``. ``per_article`` caps how many
        hits one article may contribute. ``asked`` is what the user typed where ``question`` adds to it (a
        follow-up searched with its subject's English title): its language decides the path.
        """
        if k <= 0:
            return []
        question = bounded_question(question)
        foreign = self.is_cross_lingual(asked or question)
        ranked = self._ranked(question, k, per_article, foreign)[:k]
        if not ranked:
            return []
        # Only the corpus's own terms can be highlighted in it: a Cyrillic question's words,
        # mostly not among them, are then never looked for in English text (0.7 ms a search).
        vocab = self.snapshot.index.vocab
        stems = frozenset(term for term in self.analyzer.terms(question) if term in vocab)
        hits = [self._hit(pid, score, self.snapshot.passages.get(pid), stems) for pid, score in ranked]
        if foreign:
            similarity = self._foreign_match(question, hits[0])
            hits = [replace(hit, similarity=similarity) for hit in hits]
        return hits

    def _foreign_match(self, question: str, top: Hit) -> float:
        """How well a foreign question is answered: its standout, less the share of its names
        and numbers that the top quote (with its title) lacks at ``MISSING_NAMES_COST``."""
        assert self.semantic is not None
        standout = self.semantic.standout(question)
        names = question_names(question)
        if not len(names):
            return standout
        missing = 1 - names.held_by(f"{top.title}\n{top.text}") / len(names)
        return standout - MISSING_NAMES_COST * missing

    def is_cross_lingual(self, question: str) -> bool:
        """Whether ``question`` is in another language than the corpus and is searched for in the
        multilingual embedding space (only where the snapshot and the install allow it)."""
        if self.semantic is None:
            return False
        # Asked by the search, its hits and the answer line: told once.
        return self._foreign.lookup(bounded_question(question), self._tell_foreign)

    def semantic_support(self, question: str) -> float | None:
        """How well some sentence of the corpus means what ``question`` asks: the best cosine of
        its vector with the sentences of the passages nearest it (None without the semantic
        stage). A question that shares few words with its answer can still be answered on it."""
        if self.semantic is None:
            return None
        return self.semantic.support(bounded_question(question))

    def _tell_foreign(self, question: str) -> bool:
        return is_foreign(question, self.analyzer.terms(question), self.snapshot.index.vocab.__contains__)

    def answer_line(
        self, question: str, hits: list[Hit], *, type_bonus: float = ANSWER_TYPE_BONUS
    ) -> str | None:
        """The one sentence of ``hits`` (best first) that best answers ``question``, or None;
        ``type_bonus`` is what holding the asked type of answer adds to a sentence.

        For a question in another language, whose words the passages do not share, it is the
        top passage's sentence closest to the question in the multilingual embedding space.
        """
        question = bounded_question(question)
        if hits and self.is_cross_lingual(question):
            return self._closest_sentence(question, hits[0])
        return answer_line(question, hits, analyzer=self.analyzer, type_bonus=type_bonus)

    def _ranked(self, question: str, k: int, per_article: int | None, foreign: bool) -> _Ranked:
        key = (question, per_article, foreign)
        cached = self._cache.get(key)
        if cached is not None and (cached[0] >= k or len(cached[1]) < cached[0]):
            return cached[1]  # as long as asked for, or all there is
        want = max(k, MIN_RANKED)
        ranked = self._rank(question, want, per_article, foreign)
        self._cache.put(key, (want, ranked))
        return ranked

    def _closest_sentence(self, question: str, hit: Hit) -> str:
        """The sentence of ``hit`` closest to a foreign ``question``, one holding an answer of the
        asked type (a date for "когда") preferred."""
        assert self.semantic is not None
        sentences = [hit.text[start:end] for start, end in hit.sentences]
        if not sentences:
            return hit.text
        scores = self.semantic.sentence_similarities(question, hit.passage_id)
        kind = asked_type(question)
        if kind is not None:
            words = {word.casefold() for word in question.split()}
            scores = scores + CROSS_LINGUAL_TYPE_BONUS * np.array(
                [holds_type(kind, s, words) for s in sentences]
            )
        return sentences[int(np.argmax(scores))]

    def _rank(self, question: str, want: int, per_article: int | None, foreign: bool) -> _Ranked:
        """The ``want`` best (passage id, score) pairs, no two overlapping, at most ``per_article``
        from one article. Overlaps are told from the stored passage bounds, so only the passages
        shown (a page of the list) are ever decoded."""
        query = self._query(question)
        if self.semantic is not None and (foreign or len(query.ids)):
            self.semantic.prefetch(question)  # embedded while the lexical stage runs
        pids, final, source = self._lexical(question, query, want)
        if foreign:
            assert self.semantic is not None
            pids, final = self.semantic.cross_lingual(question, pids, final)
            final = self._prefer_names(question, pids, final)
        elif self.semantic is not None and source is not None:
            final = self.semantic.rescore(question, pids, final)
        if len(pids) == 0:
            return []
        return self._select(pids, final, want, per_article)

    def _prefer_names(self, question: str, pids: np.ndarray, fused: np.ndarray) -> np.ndarray:
        """``fused`` with each of the best few passages raised by the share of a foreign
        question's names and numbers that it, with its title, holds."""
        assert self.semantic is not None
        params = self.semantic.params
        names = question_names(question)
        if not len(names) or not params.names_weight:
            return fused
        top = np.argsort(-fused, kind="stable")[: params.names_depth]
        passages = self.snapshot.passages
        held = [names.held_by(f"{passages.title(pid)}\n{passages.text(pid)}") for pid in pids[top].tolist()]
        raised = fused.copy()
        raised[top] += params.names_weight * np.asarray(held) / len(names)
        return raised

    def _lexical(
        self, question: str, query: QuestionTerms, want: int
    ) -> tuple[np.ndarray, np.ndarray, _Prefetched | None]:
        """BM25 candidates re-scored by the rerank features: (passage ids, scores), unordered, and
        what was read of them."""
        empty = (np.zeros(0, np.int64), np.zeros(0), None)
        if len(query.ids) == 0:
            return empty
        depth = max(self.rerank.depth, want * 3)
        pids, first = self.snapshot.index.first_stage(query.ids, depth)
        pids = np.asarray(pids)
        first = np.asarray(first)
        keep = first > 0
        pids, first = pids[keep], first[keep]
        if len(pids) == 0:
            return empty
        source = _Prefetched(self.snapshot, pids)
        bm25 = self.snapshot.params
        final = score_candidates(
            source, pids, first, query, self.rerank, title_terms_of=self._title_terms, k1=bm25.k1, b=bm25.b
        )
        if self.rerank.answer_type:
            words = {word for word, _ in query.words}
            prefer_asked_type(question, words, query.ids, pids, final, source, self.rerank.answer_type)
        return pids, final, source

    def _select(self, pids: np.ndarray, final: np.ndarray, want: int, per_article: int | None) -> _Ranked:
        """The best ``want`` of the scored candidates, skipping overlaps and articles at their cap."""
        order = np.argsort(-final, kind="stable")
        chosen: _Ranked = []
        taken: dict[int, list[tuple[int, int]]] = {}
        bounds = self.snapshot.passages.bounds(pids[order]).tolist()
        for index, (article, start, end) in zip(order.tolist(), bounds, strict=True):
            ranges = taken.setdefault(article, [])
            if per_article is not None and len(ranges) >= per_article:
                continue
            if any(start < taken_end and taken_start < end for taken_start, taken_end in ranges):
                continue
            ranges.append((start, end))
            chosen.append((int(pids[index]), float(final[index])))
            if len(chosen) >= want:
                break
        return chosen

    def _title_terms(self, pid: int) -> frozenset[str]:
        """Distinct stems of the passage's article title, cached per article."""
        passages = self.snapshot.passages
        return self._titles.lookup(
            passages.article_index(pid), lambda _: frozenset(self.analyzer.terms(passages.title(pid) or ""))
        )

    def _hit(self, pid: int, score: float, passage: StoredPassage, stems: frozenset[str]) -> Hit:
        spans: tuple[Span, ...] = tuple(self.analyzer.match_spans(passage.text, stems))
        return Hit(
            passage_id=pid,
            article_id=passage.article_id,
            title=passage.title,
            link=passage.link,
            text=passage.text,
            score=score,
            spans=spans,
            sentences=passage.sentences,
            start=passage.start,
            end=passage.end,
        )


class _Prefetched:
    """The snapshot as one search's rerank sees it: the candidates' tokens and their article
    neighbours' (which the context feature reads) fetched together up front, and each text read
    at most once (the exact-word feature and the answer-type check both read them)."""

    def __init__(self, snapshot: Snapshot, pids: np.ndarray) -> None:
        self._snapshot = snapshot
        self.avgdl = snapshot.avgdl
        neighbours = (np.asarray(pids, dtype=np.int64)[:, None] + np.array([-1, 0, 1])).ravel()
        inside = neighbours[(neighbours >= 0) & (neighbours < len(snapshot))]
        self._tokens = snapshot.tokens.passages_tokens(inside)
        self._texts: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._snapshot)

    def passage_tokens(self, pid: int) -> np.ndarray:
        return self._tokens.of(pid)

    def joined_tokens(self, pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._tokens.joined(pids)

    def text(self, pid: int) -> str:
        text = self._texts.get(pid)
        if text is None:
            text = self._texts[pid] = self._snapshot.passages.text(pid)
        return text

    def sentence_token_starts(self, pid: int) -> np.ndarray:
        return self._snapshot.tokens.sentence_token_starts(pid)

    def sentence_spans(self, pid: int) -> tuple[tuple[int, int], ...]:
        return self._snapshot.passages.sentence_spans(pid)

    def sentences_token_starts(self, pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._snapshot.tokens.sentences_token_starts(pids)

    def article_indexes(self, pids: np.ndarray) -> np.ndarray:
        return self._snapshot.passages.article_indexes(pids)

    def doc_lengths(self) -> np.ndarray:
        return self._snapshot.index.doc_lengths
