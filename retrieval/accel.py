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
