"""The semantic stage of a search: passage vectors from the snapshot meet the question's.

- An English question keeps its lexical ranking, and the top candidates are re-scored with the
  cosine between question and passage (all-MiniLM-L6-v2) and that of the passage's best sentence
  (the same model: one answering sentence is diluted in a passage's vector):
  ``score + σ·(weight·z(cosine) + sentence weight·z(sentence cosine))``, which orders like the
  sum of z-scores and keeps the lexical scale the answer line reads. A snapshot built before
  English sentences were embedded is re-scored without the sentence signal. (The multilingual
  best sentence added nothing once MiniLM's was there, and its question pass cost 1.4 ms.)
- A question in another language shares no word with the corpus, so its candidates come from the
  multilingual vectors (dense retrieval over every passage) and are fused with whatever the
  lexical stage found (names and numbers often survive translation): the passage's cosine, its
  best sentence's cosine (the model was trained on sentences, and one answering sentence is
  diluted in a passage's vector) and BM25, each as a z-score, weighted.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrieval.semantic.encoders import ENGLISH, MULTILINGUAL, encoder, installed

if TYPE_CHECKING:
    from retrieval.index.reader import Snapshot

# A question in another language whose best passage is less similar than this has no good match
# (the lexical coverage rule cannot judge it: none of its words are the corpus's).
MIN_SIMILARITY = 0.25


@dataclass(frozen=True, slots=True)
class SemanticParams:
    """Weights tuned with ``wikiqa eval`` on the shared halves of SQuAD, SciFact and XQuAD-ru."""

    english_weight: float = 1.0  # of z(cosine) against z(lexical score), English questions
    english_depth: int = 50  # lexical candidates re-scored
    english_sentence_weight: float = 1.0  # of z(best sentence's MiniLM cosine), English questions
    dense_depth: int = 50  # passages the multilingual vectors contribute to a foreign question
    passage_weight: float = 0.5  # foreign questions: of z(passage cosine),
    sentence_weight: float = 1.0  # of z(best sentence cosine)
    lexical_weight: float = 0.6  # and of z(BM25)


def _z(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


class SemanticStage:
    """The snapshot's vectors for the roles whose model is installed, and the question vectors
    that meet them (the last few remembered: pages 2 and 3 and the answer line ask again)."""

    def __init__(self, snapshot: Snapshot, params: SemanticParams) -> None:
        self.params = params
        self._tables = {role: table for role, table in snapshot.vectors.items() if installed(role)}
        self._sentences = {
            role: table for role, table in snapshot.sentence_vectors.items() if role in self._tables
        }
        if MULTILINGUAL not in self._sentences:  # the multilingual stage needs its sentence vectors
            self._tables.pop(MULTILINGUAL, None)
        self._sentence_offsets = snapshot.sentence_offsets
        self._questions: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def english(self) -> bool:
        return ENGLISH in self._tables

    @property
    def multilingual(self) -> bool:
        return MULTILINGUAL in self._tables

    def question_vector(self, role: str, question: str) -> np.ndarray:
        key = (role, question)
        with self._lock:
            vector = self._questions.get(key)
        if vector is None:
            vector = encoder(role).encode([question])[0]
            with self._lock:
                self._questions[key] = vector
                while len(self._questions) > 256:
                    self._questions.popitem(last=False)
        return vector

    def contenders(self, pids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """The candidates :meth:`rescore` could rank first: the top ``english_depth`` and any tied
        with the last of them. (What it adds to them averages zero, so one keeps at least its
        lexical score, which no candidate below them exceeds.)"""
        depth = min(self.params.english_depth, len(pids))
        if depth == 0:
            return pids[:0]
        floor = np.partition(scores, len(scores) - depth)[len(scores) - depth]
        return pids[scores >= floor]

    def rescore(self, question: str, pids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """English: ``scores`` with the top ``english_depth`` re-scored by cosine (a new array)."""
        depth = min(self.params.english_depth, len(pids))
        if depth < 2:
            return scores
        top = np.argsort(-scores, kind="stable")[:depth]
        vector = self.question_vector(ENGLISH, question)
        cosines = self._tables[ENGLISH].cosines(pids[top], vector)
        signal = self.params.english_weight * _z(cosines.astype(np.float64))
        if self.params.english_sentence_weight and ENGLISH in self._sentences:
            sentences = self._best_sentences(ENGLISH, pids[top], vector)
            signal += self.params.english_sentence_weight * _z(sentences)
        rescored = scores.copy()
        rescored[top] = scores[top] + float(scores[top].std()) * signal
        return rescored

    def cross_lingual(
        self, question: str, lexical_pids: np.ndarray, lexical_scores: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """A foreign question's candidates: (passage ids, fused scores)."""
        table = self._tables[MULTILINGUAL]
        vector = self.question_vector(MULTILINGUAL, question)
        dense_pids, _ = table.nearest(vector, self.params.dense_depth)
        pids = np.union1d(dense_pids, lexical_pids).astype(np.int64)
        passages = table.cosines(pids, vector).astype(np.float64)
        sentences = self._best_sentences(MULTILINGUAL, pids, vector)
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

    def _best_sentences(self, role: str, pids: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """Each passage's best sentence cosine with ``vector`` in ``role``'s space (one product
        over all their sentences)."""
        starts = np.asarray(self._sentence_offsets[pids], dtype=np.int64)
        ends = np.asarray(self._sentence_offsets[pids + 1], dtype=np.int64)
        counts = ends - starts
        group_starts = np.cumsum(counts) - counts  # where each passage's sentences begin in ``rows``
        rows = np.arange(int(counts.sum())) + np.repeat(starts - group_starts, counts)
        cosines = self._sentences[role].cosines(rows, vector).astype(np.float64)
        best = np.full(len(pids), -1.0)
        has = counts > 0
        if has.any():
            best[has] = np.maximum.reduceat(cosines, group_starts[has])
        return best

    def similarities(self, question: str, pids: np.ndarray) -> np.ndarray:
        """The multilingual cosine of a foreign ``question`` with each of ``pids``' passages."""
        return self._tables[MULTILINGUAL].cosines(pids, self.question_vector(MULTILINGUAL, question))

    def sentence_similarities(self, question: str, pid: int) -> np.ndarray:
        """The multilingual cosine of a foreign ``question`` with each sentence of passage ``pid``."""
        start, end = int(self._sentence_offsets[pid]), int(self._sentence_offsets[pid + 1])
        return self._sentences[MULTILINGUAL].cosines(
            np.arange(start, end), self.question_vector(MULTILINGUAL, question)
        )
