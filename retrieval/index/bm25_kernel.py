"""Numba kernel for first-stage scoring (needs the ``numba`` extra; imported only when asked for).

The numpy path spends most of a question in per-term Python and numpy call overhead; this kernel
walks the question terms' columns in one compiled loop. Compiling takes a few seconds the first
time and is cached on disk (``cache=True``) afterwards, but importing numba alone costs ~0.4 s:
long-running processes (the bot, benchmarks) turn it on at load, a one-shot ``wikiqa ask`` need not.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def accumulate(data, indices, indptr, terms, repeats, scores, seen, touched):  # pragma: no cover - jitted
    """Add the terms' columns into ``scores``; list each passage met once in ``touched``."""
    count = 0
    for k in range(terms.shape[0]):
        term = terms[k]
        weight = np.float32(repeats[k])
        for j in range(indptr[term], indptr[term + 1]):
            doc = indices[j]
            if not seen[doc]:
                seen[doc] = True
                touched[count] = doc
                count += 1
            scores[doc] += data[j] * weight
    return count


@njit(cache=True, nogil=True)
def _worse(score_a, doc_a, score_b, doc_b):  # pragma: no cover - jitted
    """Ranking order: higher score first, then lower passage id."""
    return score_a < score_b or (score_a == score_b and doc_a > doc_b)


@njit(cache=True, nogil=True)
def take_best(scores, seen, touched, count, n, best_docs, best_scores):  # pragma: no cover - jitted
    """Move the ``n`` best positive scores among the touched passages into ``best_*`` (a heap,
    unordered) and clear the buffers for the next question; returns how many were kept."""
    size = 0
    for i in range(count):
        doc = touched[i]
        score = scores[doc]
        scores[doc] = 0.0
        seen[doc] = False
        if score <= 0.0:
            continue
        if size < n:
            j = size
            size += 1
            while j > 0:  # sift up: the worst kept passage stays at the root
                parent = (j - 1) >> 1
                if not _worse(score, doc, best_scores[parent], best_docs[parent]):
                    break
                best_scores[j] = best_scores[parent]
                best_docs[j] = best_docs[parent]
                j = parent
            best_scores[j] = score
            best_docs[j] = doc
        elif _worse(best_scores[0], best_docs[0], score, doc):
            j = 0
            while True:  # sift down from the root
                child = 2 * j + 1
                if child >= size:
                    break
                if child + 1 < size and _worse(
                    best_scores[child + 1], best_docs[child + 1], best_scores[child], best_docs[child]
                ):
                    child += 1
                if not _worse(best_scores[child], best_docs[child], score, doc):
                    break
                best_scores[j] = best_scores[child]
                best_docs[j] = best_docs[child]
                j = child
            best_scores[j] = score
            best_docs[j] = doc
    return size
