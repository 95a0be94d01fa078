"""BM25 over passages: the scoring formula, the sparse matrix it is precomputed into, first-stage top-n.

The matrix is bm25s's "eager" index: one column per term holding, for each passage that contains
the term, that term's whole BM25 contribution (idf x saturated term frequency). A question then
costs one sparse column sum, which is why bm25s is fast. bm25s builds that matrix from Python lists
of token strings (5.7 GB at a million passages), so it is assembled here from integer term ids
streamed batch by batch (:func:`assemble_csc`), then handed to a ``bm25s.BM25`` object only to be
saved in bm25s's own format.

rank-bm25's ``BM25Okapi`` is the reference it is checked against: given the same idf, it ranks
passages as this index does (``tests/retrieval/index/test_bm25.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

METHODS = ("lucene", "robertson", "atire")
SCORE_DTYPE = np.dtype("float32")
DOC_DTYPE = np.dtype("int32")
INDPTR_DTYPE = np.dtype("int64")

EMPTY = (np.empty(0, np.int64), np.empty(0, SCORE_DTYPE))


@dataclass(frozen=True, slots=True)
class BM25Params:
    """BM25 settings, saved with each snapshot.

    Defaults: Lucene's variant (its idf ``log(1 + (N - df + 0.5) / (df + 0.5))`` is never
    negative, so a term found in most passages still counts a little instead of being clamped to
    zero or floored arbitrarily as in Robertson's and Okapi's), with Lucene's and Elasticsearch's
    k1 = 1.2 and b = 0.75: a lower saturation point than bm25s's 1.5 suits passages of ~100
    words, where a term seen twice is already strong evidence.
    """

    k1: float = 1.2
    b: float = 0.75
    method: str = "lucene"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"BM25 method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.k1 < 0 or not 0 <= self.b <= 1:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1 (got k1={self.k1}, b={self.b})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> BM25Params:
        return cls(k1=float(d["k1"]), b=float(d["b"]), method=str(d["method"]))


def idf_values(doc_freqs: np.ndarray, n_docs: int, method: str) -> np.ndarray:
    """Inverse document frequency per term, as bm25s computes it for ``method`` (0 where df = 0)."""
    df = np.asarray(doc_freqs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "lucene":
            idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        elif method == "robertson":
            idf = np.log(np.maximum((n_docs - df + 0.5) / (df + 0.5), 1.0))
        elif method == "atire":
            idf = np.log(n_docs / df)
        else:
            raise ValueError(f"unknown BM25 method {method!r}")
    idf[df == 0] = 0.0
    return idf.astype(SCORE_DTYPE)


def bm25_contributions(
    idf: np.ndarray, tf: np.ndarray, doc_len: np.ndarray | float, avgdl: float, params: BM25Params
) -> np.ndarray:
    """BM25 contribution of terms with frequencies ``tf`` in documents of length ``doc_len``.

    The same formula fills the index, so a caller can score a sentence, or any other span, as if
    it were a passage of its own.
    """
    tf = np.asarray(tf, dtype=SCORE_DTYPE)
    norm = params.k1 * (
        (1.0 - params.b) + params.b * np.asarray(doc_len, SCORE_DTYPE) / SCORE_DTYPE.type(avgdl)
    )
    saturated = tf * (params.k1 + 1.0) / (tf + norm) if params.method == "atire" else tf / (tf + norm)
    return (np.asarray(idf, SCORE_DTYPE) * saturated).astype(SCORE_DTYPE, copy=False)


@dataclass(frozen=True, slots=True)
class CscArrays:
    """The passage x term score matrix in bm25s's layout, and the statistics it was built from."""

    data: np.ndarray  # float32 scores, column (term) major
    indices: np.ndarray  # int32 passage ids, ascending within a column
    indptr: np.ndarray  # int64, n_terms + 1
    num_docs: int
    idf: np.ndarray
    doc_freqs: np.ndarray
    avgdl: float


def assemble_csc(
    read_terms: Callable[[int, int], np.ndarray],
    read_tfs: Callable[[int, int], np.ndarray],
    doc_nnz: np.ndarray,
    doc_len: np.ndarray,
    n_terms: int,
    params: BM25Params,
    *,
    chunk_entries: int = 4_000_000,
) -> CscArrays:
    """Build the score matrix from per-passage term counts stored passage by passage.

    ``read_terms(start, count)`` / ``read_tfs(start, count)`` return a slice of the flat
    (passage-major) arrays of distinct term ids and their frequencies; passage ``d`` owns
    ``doc_nnz[d]`` consecutive entries. Two passes over those arrays in bounded chunks (document
    frequencies, then scores placed into their columns with scipy's linear-time COO to CSC
    conversion), so memory stays at the size of the output plus one chunk.
    """
    import scipy.sparse as sp

    n_docs = len(doc_nnz)
    entry_ends = np.cumsum(doc_nnz, dtype=np.int64)
    total = int(entry_ends[-1]) if n_docs else 0

    doc_freqs = np.zeros(n_terms, np.int64)
    for start in range(0, total, chunk_entries):
        count = min(chunk_entries, total - start)
        doc_freqs += np.bincount(read_terms(start, count), minlength=n_terms)

    idf = idf_values(doc_freqs, n_docs, params.method)
    avgdl = float(np.mean(doc_len, dtype=np.float64)) if n_docs else 0.0
    indptr = np.zeros(n_terms + 1, INDPTR_DTYPE)
    np.cumsum(doc_freqs, out=indptr[1:])
    data = np.empty(total, SCORE_DTYPE)
    indices = np.empty(total, DOC_DTYPE)
    heads = indptr[:-1].copy()

    doc = 0
    while doc < n_docs:
        first_entry = int(entry_ends[doc - 1]) if doc else 0
        # Whole passages only, at least one, about chunk_entries entries.
        last_doc = int(np.searchsorted(entry_ends, first_entry + chunk_entries, side="right"))
        last_doc = max(last_doc, doc + 1)
        count = int(entry_ends[last_doc - 1]) - first_entry
        terms = read_terms(first_entry, count)
        tfs = read_tfs(first_entry, count)
        local_docs = np.repeat(np.arange(last_doc - doc, dtype=DOC_DTYPE), doc_nnz[doc:last_doc])
        weights = bm25_contributions(idf[terms], tfs, doc_len[doc:last_doc][local_docs], avgdl, params)
        chunk = sp.csc_matrix((weights, (local_docs, terms)), shape=(last_doc - doc, n_terms))
        counts = np.diff(chunk.indptr)
        destination = np.arange(count, dtype=np.int64) + np.repeat(heads - chunk.indptr[:-1], counts)
        data[destination] = chunk.data
        indices[destination] = chunk.indices + doc
        heads += counts
        doc = last_doc
    return CscArrays(data, indices, indptr, n_docs, idf, doc_freqs, avgdl)


def save_bm25s(folder: Path, csc: CscArrays, vocab: dict[str, int], params: BM25Params) -> None:
    """Save the matrix with bm25s's own ``save`` so the folder is a valid bm25s index."""
    import bm25s

    model = bm25s.BM25(k1=params.k1, b=params.b, method=params.method, backend="numpy")
    model.scores = {
        "data": csc.data,
        "indices": csc.indices,
        "indptr": csc.indptr,
        "num_docs": csc.num_docs,
    }
    model.vocab_dict = vocab
    model.nonoccurrence_array = None
    model.save(folder, show_progress=False)


# bm25s's file names inside its index folder (its save/load defaults).
BM25S_DATA = "data.csc.index.npy"
BM25S_INDICES = "indices.csc.index.npy"
BM25S_INDPTR = "indptr.csc.index.npy"


class Bm25Index:
    """First-stage scoring over the memory-mapped matrix.

    The files are bm25s's; they are read with ``np.load(mmap_mode="r")`` exactly as
    ``bm25s.BM25.load(mmap=True)`` does, without importing bm25s (it imports numba and scipy,
    ~0.3 s, which a one-shot ``wikiqa ask`` should not pay). Scoring touches only the passages in
    the question terms' columns instead of the whole corpus: scores accumulate in a per-thread
    buffer that is cleared again by the same positions.
    """

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, num_docs: int) -> None:
        # Plain ndarray views of the memmaps: slicing a np.memmap costs a Python-level call each time.
        self.data = np.asarray(data)
        self.indices = np.asarray(indices)
        self.indptr = np.asarray(indptr)
        self.num_docs = num_docs
        self.n_terms = len(indptr) - 1
        self._local = threading.local()
        self._kernel = None

    def accelerate(self) -> bool:
        """Score with the compiled kernel from now on (compiled or loaded from cache, and warmed up
        here); False when numba is not installed."""
        try:
            from retrieval.index.bm25_kernel import accumulate, take_best
        except ImportError:
            return False
        self._columns = (self.data, self.indices, self.indptr)
        self._kernel = (accumulate, take_best)
        self.top([0] if self.n_terms else [], 1)
        return True

    @classmethod
    def load(cls, folder: Path, num_docs: int) -> Bm25Index:
        return cls(
            np.load(folder / BM25S_DATA, mmap_mode="r"),
            np.load(folder / BM25S_INDICES, mmap_mode="r"),
            np.load(folder / BM25S_INDPTR, mmap_mode="r"),
            num_docs,
        )

    def _buffers(self) -> tuple[np.ndarray, np.ndarray]:
        local = self._local
        if getattr(local, "scores", None) is None:
            local.scores = np.zeros(self.num_docs, SCORE_DTYPE)
            local.seen = np.zeros(self.num_docs, np.bool_)
        return local.scores, local.seen

    def _top_compiled(self, terms: np.ndarray, repeats: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        accumulate, take_best = self._kernel
        scores, seen = self._buffers()
        local = self._local
        if getattr(local, "touched", None) is None:
            local.touched = np.empty(self.num_docs, DOC_DTYPE)
        count = accumulate(*self._columns, terms, repeats, scores, seen, local.touched)
        n = min(n, count)
        docs, values = np.empty(n, DOC_DTYPE), np.empty(n, SCORE_DTYPE)
        kept = take_best(scores, seen, local.touched, count, n, docs, values)
        order = np.lexsort((docs[:kept], -values[:kept]))
        return docs[order].astype(np.int64), values[order]

    def top(self, term_ids: Sequence[int] | np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, scores), best first, of the ``n`` best passages that share a term.

        A term given twice counts twice, as in bm25s. Passages scoring 0 are not returned.
        """
        terms, repeats = _query_terms(term_ids, self.n_terms)
        if n <= 0 or terms.size == 0:
            return EMPTY
        if self._kernel is not None:
            return self._top_compiled(terms, repeats, n)
        scores, seen = self._buffers()
        touched: list[np.ndarray] = []
        try:
            for term, repeat in zip(terms.tolist(), repeats.tolist(), strict=True):
                start, end = int(self.indptr[term]), int(self.indptr[term + 1])
                if start == end:
                    continue
                docs = self.indices[start:end]
                fresh = docs[~seen[docs]]
                seen[fresh] = True
                touched.append(fresh)
                values = self.data[start:end]
                # Within a column each passage appears once, so fancy-index += is exact.
                scores[docs] += values if repeat == 1 else values * SCORE_DTYPE.type(repeat)
            if not touched:
                return EMPTY
            candidates = touched[0] if len(touched) == 1 else np.concatenate(touched)
            return _best(candidates, scores[candidates], n)
        finally:
            for docs in touched:
                scores[docs] = 0.0
                seen[docs] = False


def _query_terms(term_ids: Sequence[int] | np.ndarray, n_terms: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.asarray(term_ids, dtype=np.int64).ravel()
    ids = ids[(ids >= 0) & (ids < n_terms)]
    if ids.size == 0:
        return ids, ids
    return np.unique(ids, return_counts=True)


def _best(candidates: np.ndarray, scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` highest positive scores, best first; ties broken by lower passage id."""
    positive = scores > 0
    if not positive.all():
        candidates, scores = candidates[positive], scores[positive]
    if candidates.size > n:
        # The n-th best score; passages tied with it are taken lowest id first, so the result does
        # not depend on how the partition happens to order ties (and equals the compiled path's).
        boundary = -np.partition(-scores, n - 1)[n - 1]
        above = np.flatnonzero(scores > boundary)
        tied = np.flatnonzero(scores == boundary)
        tied = tied[np.argsort(candidates[tied], kind="stable")[: n - above.size]]
        keep = np.concatenate((above, tied))
        candidates, scores = candidates[keep], scores[keep]
    order = np.lexsort((candidates, -scores))
    return candidates[order].astype(np.int64, copy=False), scores[order]
