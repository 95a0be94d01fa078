"""The semantic stage of a search: the snapshot's passage and sentence vectors meet the question's,
all embedded by one multilingual model (:mod:`retrieval.semantic.encoders`).

- An English question keeps its lexical ranking, and the top candidates are re-scored with the
  cosine between question and passage and that of the passage's best sentence (one answering
  sentence is diluted in a passage's vector):
  ``score + σ·(weight·z(cosine) + sentence weight·z(sentence cosine))``, which orders like the
  sum of z-scores and keeps the lexical scale the answer line reads.
- A question in another language shares few words with the corpus, so its candidates come from
  the vectors (dense retrieval over every passage) and are fused with whatever the lexical stage
  found (numbers survive translation): the passage's cosine, its best sentence's cosine and BM25,
  each as a z-score, weighted. The searcher then raises the best few by the share of the
  question's names they hold, transliterated (:mod:`retrieval.text.names`).

A snapshot embedded by another model (an older wikiqa's) has no stage here: it is searched
lexically until the next reindex embeds it again.
"""

from __future__ import annotations

import os
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrieval.index.format import damaged
from retrieval.lru import LruCache
from retrieval.semantic.encoders import encoder, installed
from retrieval.semantic.vectors import SnapshotVectors, open_snapshot_vectors

if TYPE_CHECKING:
    from retrieval.index.reader import Snapshot

# A question in another language is answered when its best passage stands out from the corpus by
# this much (:meth:`SemanticStage.standout`), less what the top quote's missing names cost
# (``MISSING_NAMES_COST``); the lexical coverage rule cannot judge it, as few of its words are the
# corpus's. e5 gives any two texts a cosine of 0.7 to 0.8 and a question's own level moves with
# its wording, so a bare cosine floor told answerable questions from the rest poorly: at 0.775
# (the best sentence), shared XQuAD-ru and UA-SQuAD questions were refused 3.9% and 3.4% of the
# time with the SQuAD corpus, but only 53% and 62% of the time asked of the SciFact abstracts
# alone, which hold none of their answers. Measured above the corpus's mean, at 0.145: 4.7% and
# 1.3% against 78% and 85%. The sum of the sentence's and the passage's standouts, unweighted,
# told them apart best (weighting the baselines 0.8 or 1.2 lost 2 to 9 points of the SciFact
# share at the same refusals with SQuAD), and the best of the nearest passages better than the
# top hit's own sentence and passage (77% and 79% at 4.6% and 1.3%). With the names' cost, at
# 0.1425 (the highest floor that keeps both languages at 5% or less refused with the SQuAD
# corpus): 4.6% and 1.3% against 85% and 89%.
MIN_STANDOUT = 0.1425
# What a foreign question's names and numbers that its top quote lacks cost its standout, in
# full when it holds none of them (:mod:`retrieval.text.names`): an answer about Newton names
# Newton. 0.01 to 0.04 each took both languages' SciFact refusals up (Russian 78% to 83-85%,
# Ukrainian 85% to 88-90%) at the same refusals with SQuAD; 0.05 and more refused answered ones
# unless the floor came down, and then fewer of the others.
# Read on the top quote alone: the best three or five told the two corpora apart less well.
MISSING_NAMES_COST = 0.04
# Passages whose sentences are read to tell how well the corpus holds what a question asks.
SUPPORT_DEPTH = 50
# Question vectors remembered per stage: pages 2 and 3 and the answer line ask again.
_QUESTION_CACHE = 256


@dataclass(frozen=True, slots=True)
class SemanticParams:
    """Weights tuned with ``wikiqa eval`` on the shared halves of SQuAD, SciFact, XQuAD-ru and
    UA-SQuAD."""

    english_weight: float = 1.0  # of z(passage cosine) against z(lexical score), English questions
    english_depth: int = 50  # lexical candidates re-scored
    english_sentence_weight: float = 1.0  # of z(best sentence's cosine), English questions
    # Foreign questions: the passages the vectors contribute, and the weights fusing them. 100
    # passages and a passage weight of 0.3, against the 50 and 0.5 first tried: XQuAD-ru
    # answer@1/@5 0.662/0.869 against 0.641/0.866, UA-SQuAD 0.617/0.846 against 0.597/0.839
    # (shared halves); 0.7 lost on both. The best sentence says most: a passage's vector dilutes it.
    dense_depth: int = 100
    passage_weight: float = 0.3  # of z(passage cosine),
    sentence_weight: float = 1.0  # of z(best sentence cosine)
    lexical_weight: float = 0.6  # and of z(BM25)
    # What the share of a foreign question's names and numbers a passage holds adds to the fused
    # score of the best ``names_depth`` (:mod:`retrieval.text.names`): BM25 sees the digits but no
    # transliteration. 0.5 over 10: XQuAD-ru answer@1/@5 0.657/0.871 to 0.665/0.876, UA-SQuAD
    # 0.604/0.839 to 0.604/0.846; 1.0 took UA-SQuAD's answer@1 down, 20 passages did no better.
    names_weight: float = 0.5
    names_depth: int = 10


@dataclass(frozen=True, slots=True)
class _Match:
    """How well the corpus holds what a question asks, by its vectors alone."""

    support: float  # the best sentence's cosine
    standout: float  # how far the best sentence and passage stand above the corpus's mean


def _z(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


# Question vectors are embedded on these threads while the asking thread runs the lexical stage
# (onnxruntime and the BM25 kernel let go of the GIL): a search then waits for the longer of the
# two, not their sum. Made on first use in each process, as a forked child has no threads.
_embedders: ThreadPoolExecutor | None = None
_embedders_lock = threading.Lock()


def _embedder_pool() -> ThreadPoolExecutor:
    global _embedders
    with _embedders_lock:
        if _embedders is None:
            _embedders = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="wikiqa-question-vector")
        return _embedders


def _forget_embedders() -> None:
    global _embedders, _embedders_lock
    _embedders, _embedders_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_embedders)


# Each snapshot's tables, opened once however many searchers it serves.
_opened: weakref.WeakKeyDictionary[Snapshot, SnapshotVectors | None] = weakref.WeakKeyDictionary()
_opened_lock = threading.Lock()


def usable_vectors(snapshot: Snapshot) -> SnapshotVectors | None:
    """The snapshot's vectors where the installed model made them; None for a lexical-only
    snapshot, one embedded by another model, or an install without the model."""
    with _opened_lock:
        if snapshot not in _opened:
            try:
                found = open_snapshot_vectors(snapshot.folder, snapshot.manifest) if installed() else None
            except (OSError, ValueError, KeyError, TypeError) as err:
                raise damaged(snapshot.folder, str(err)) from None
            _opened[snapshot] = found
        return _opened[snapshot]


class SemanticStage:
    """The vectors of one snapshot, and the question vectors that meet them."""

    def __init__(self, vectors: SnapshotVectors, params: SemanticParams) -> None:
        self.params = params
        self._passages = vectors.passages
        self._sentences = vectors.sentences
        self._sentence_offsets = vectors.sentence_offsets
        self._questions: LruCache[str, Future[np.ndarray]] = LruCache(_QUESTION_CACHE)
        # An answer asks it again for its follow-up check and its spelling suggestions.
        self._matches: LruCache[str, _Match] = LruCache(_QUESTION_CACHE)
        self._neighbours: LruCache[str, tuple[np.ndarray, np.ndarray]] = LruCache(_QUESTION_CACHE)

    def prefetch(self, question: str) -> None:
        """Start embedding ``question`` on another thread; the stage's methods wait for it."""
        self._pending(question)

    def question_vector(self, question: str) -> np.ndarray:
        pending = self._pending(question)
        try:
            return pending.result()
        except BaseException:
            self._questions.discard(question, pending)  # asked again, it is embedded again
            raise

    def _pending(self, question: str) -> Future[np.ndarray]:
        return self._questions.lookup(question, self._embed)

    @staticmethod
    def _embed(question: str) -> Future[np.ndarray]:
        return _embedder_pool().submit(lambda: encoder().queries([question])[0])

    def support(self, question: str) -> float:
        """The best cosine of ``question`` with a sentence of the ``SUPPORT_DEPTH`` passages
        nearest it: how well the corpus holds what it asks, whatever words it uses."""
        return self._matches.lookup(question, self._match).support

    def standout(self, question: str) -> float:
        """How far the corpus's best match for ``question`` stands out from the corpus as a
        whole: the best sentence's cosine (as :meth:`support`) less the question's cosine with
        the corpus's mean sentence, plus the nearest passage's less that with the mean passage.
        The cosine with the mean is the question's own baseline, what any passage would score:
        e5 gives any two texts 0.7 to 0.8, more or less with the question's wording."""
        return self._matches.lookup(question, self._match).standout

    def _nearest(self, question: str) -> tuple[np.ndarray, np.ndarray]:
        """The passages nearest ``question``, best first, with their cosines: as many as
        :meth:`cross_lingual` and :meth:`support` ask for, so that one index search serves both."""
        depth = max(self.params.dense_depth, SUPPORT_DEPTH)
        return self._neighbours.lookup(
            question, lambda text: self._passages.nearest(self.question_vector(text), depth)
        )

    def _match(self, question: str) -> _Match:
        vector = self.question_vector(question)
        nearest, cosines = (found[:SUPPORT_DEPTH] for found in self._nearest(question))
        return self._matched(vector, self._best_sentences(nearest, vector), cosines)

    def _matched(self, vector: np.ndarray, best_sentences: np.ndarray, cosines: np.ndarray) -> _Match:
        """The match of the ``SUPPORT_DEPTH`` nearest passages: their best sentences' cosines and
        their own."""
        best = float(best_sentences.max(initial=-1.0))
        sentence_baseline = float(self._sentences.mean() @ vector)
        passage_baseline = float(self._passages.mean() @ vector)
        nearest_cosine = float(np.max(cosines, initial=-1.0))
        return _Match(best, best - sentence_baseline + nearest_cosine - passage_baseline)

    def rescore(self, question: str, pids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """English: ``scores`` with the top ``english_depth`` re-scored by cosine (a new array)."""
        depth = min(self.params.english_depth, len(pids))
        if depth < 2:
            return scores
        top = np.argsort(-scores, kind="stable")[:depth]
        vector = self.question_vector(question)
        cosines = self._passages.cosines(pids[top], vector)
        signal = self.params.english_weight * _z(cosines.astype(np.float64))
        if self.params.english_sentence_weight:
            signal += self.params.english_sentence_weight * _z(self._best_sentences(pids[top], vector))
        rescored = scores.copy()
        rescored[top] = scores[top] + float(scores[top].std()) * signal
        return rescored

    def cross_lingual(
        self, question: str, lexical_pids: np.ndarray, lexical_scores: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """A foreign question's candidates: (passage ids, fused scores)."""
        vector = self.question_vector(question)
        nearest, cosines = self._nearest(question)
        pids = np.union1d(nearest[: self.params.dense_depth], lexical_pids).astype(np.int64)
        passages = self._passages.cosines(pids, vector).astype(np.float64)
        sentences = self._best_sentences(pids, vector)
        if self.params.dense_depth >= SUPPORT_DEPTH and question not in self._matches:
            # The "no good match" rule reads the same sentences of the nearest passages: kept.
            support = np.searchsorted(pids, nearest[:SUPPORT_DEPTH])
            self._matches.put(question, self._matched(vector, sentences[support], cosines[:SUPPORT_DEPTH]))
        lexical = np.zeros(len(pids))
        if len(lexical_pids):
            lexical[np.searchsorted(pids, lexical_pids)] = lexical_scores
        p = self.params
        fused = (
            p.passage_weight * _z(passages)
            + p.sentence_weight * _z(sentences)
            + p.lexical_weight * _z(lexical)
        )
        return pids, fused

    def _best_sentences(self, pids: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Each passage's best sentence cosine with ``vector`` (one product over all their
        sentences); -1 for a passage without sentences."""
        starts = np.asarray(self._sentence_offsets[pids], dtype=np.int64)
        ends = np.asarray(self._sentence_offsets[pids + 1], dtype=np.int64)
        counts = ends - starts
        group_starts = np.cumsum(counts) - counts  # where each passage's sentences begin in ``rows``
        rows = np.arange(int(counts.sum())) + np.repeat(starts - group_starts, counts)
        cosines = self._sentences.cosines(rows, vector).astype(np.float64)
        best = np.full(len(pids), -1.0)
        has = counts > 0
        if has.any():
            best[has] = np.maximum.reduceat(cosines, group_starts[has])
        return best

    def sentence_similarities(self, question: str, pid: int) -> np.ndarray:
        """The cosine of a foreign ``question`` with each sentence of passage ``pid``."""
        start, end = int(self._sentence_offsets[pid]), int(self._sentence_offsets[pid + 1])
        return self._sentences.cosines(np.arange(start, end), self.question_vector(question))
