"""An approximate nearest-neighbour index over a role's passage vectors, for corpora where an
exact search costs more than a question may take.

faiss's inverted file with 8-bit scalar quantization (IVF-SQ8): k-means cells of the vectors, a
question's vector compared only with the passages of its ``NPROBE`` nearest cells. Chosen over
graph indexes (HNSW in faiss, hnswlib, usearch) after measuring them all on this machine kind:
the graphs took several times longer to build at a million vectors (a reindex must stay within
minutes) or found fewer of the true neighbours, hnswlib cannot be memory-mapped, and the 8-bit
codes take a quarter of float32's space for a small loss of recall, which the sentence-level
scores of the candidates it finds make up for. Below ``ANN_FROM_PASSAGES`` an exact search is as
fast and needs no index at all.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

ANN_FROM_PASSAGES = 50_000
NPROBE = 16
KIND = "faiss-ivf-sq8"
# k-means is trained on at most this many vectors a cell, which faiss itself deems enough.
_TRAIN_PER_CELL = 40
_ADD_ROWS = 65_536
_SEED = 1234


def cells_for(passages: int) -> int:
    """About 4·√n cells: a cell then holds a few hundred passages at a million."""
    return max(1, int(4 * math.sqrt(passages)))


def build_ivf(vectors: np.ndarray, path: Path) -> dict[str, Any]:
    """Write the index of ``vectors`` (unit rows) to ``path``; its manifest entry."""
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    count, width = vectors.shape
    cells = cells_for(count)
    index = faiss.IndexIVFScalarQuantizer(
        faiss.IndexFlatIP(width), width, cells, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    sample = np.random.default_rng(_SEED).choice(count, min(count, cells * _TRAIN_PER_CELL), replace=False)
    index.train(np.ascontiguousarray(vectors[np.sort(sample)], dtype=np.float32))
    for start in range(0, count, _ADD_ROWS):
        index.add(np.ascontiguousarray(vectors[start : start + _ADD_ROWS], dtype=np.float32))
    faiss.write_index(index, str(path))
    return {"kind": KIND, "cells": cells, "nprobe": NPROBE}


class IvfIndex:
    """A built index, memory-mapped: loading costs nothing whatever its size."""

    def __init__(self, path: Path, nprobe: int) -> None:
        import faiss

        self._index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        self._index.nprobe = nprobe

    def nearest(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self._index.search(np.asarray(query, dtype=np.float32)[None, :], n)
        found = ids[0] >= 0
        return ids[0][found].astype(np.int64), scores[0][found]
