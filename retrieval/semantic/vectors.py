"""A snapshot's passage embeddings: one float16 matrix file per role, memory-mapped.

Row ``i`` is passage ``i``'s unit vector. float16 halves the disk and page cache of float32 and
changes a cosine by less than 1e-3, far below what separates a good passage from a poor one. The
manifest's ``semantic`` entry names each role's model, version and width, so a question is only
ever compared with passages embedded by the same model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from retrieval.index.format import (
    ANN,
    SEMANTIC,
    SENTENCE_VECTORS,
    ann_file,
    sentence_vectors_file,
    vectors_file,
)
from retrieval.semantic.ann import IvfIndex

VECTOR_DTYPE = np.float16
# Every float16 bit pattern's float32 value: one table gather converts a block of vectors in about
# half the time of numpy's float16 cast, which converts element by element (same values exactly).
_SINGLE_OF_HALF = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)


class VectorTable:
    """One role's passage (or sentence) vectors, read in place, and its nearest-neighbour index if
    it has one."""

    def __init__(self, path: Path, rows: int, model: dict[str, Any], ann: IvfIndex | None = None) -> None:
        # A plain array over the mapping: indexing an ``np.memmap`` runs Python code on every call.
        self._rows = np.asarray(
            np.memmap(path, dtype=VECTOR_DTYPE, mode="r", shape=(rows, int(model["dimensions"])))
        )
        self._bits = self._rows.view(np.uint16)
        self._ann = ann
        self._dense: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def cosines(self, pids: np.ndarray, query: np.ndarray) -> np.ndarray:
        """The cosine of ``query`` (a unit vector) with each of ``pids``' passages."""
        return _single(np.take(self._bits, np.asarray(pids, dtype=np.int64), axis=0)) @ query

    def nearest(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` passages closest to ``query``, best first, with their cosines: from the index
        where there is one, else exactly, over a float32 copy made at the first search (numpy has
        no fast float16 product; the copy is at most a few tens of MB below the index's threshold)."""
        n = min(n, len(self._rows))
        if n <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if self._ann is not None:
            return self._ann.nearest(query, n)
        if self._dense is None:
            self._dense = _single(self._bits)
        scores = self._dense @ query
        top = np.argpartition(-scores, n - 1)[:n]
        order = np.argsort(-scores[top], kind="stable")
        return top[order].astype(np.int64), scores[top[order]]


def _single(bits: np.ndarray) -> np.ndarray:
    """float16 values, given as their bits, in float32."""
    return np.take(_SINGLE_OF_HALF, bits)


def open_vectors(folder: Path, manifest: dict[str, Any]) -> dict[str, VectorTable]:
    """Each role's table that the snapshot in ``folder`` holds (none for a lexical-only one)."""
    tables = {}
    for role, model in (manifest.get(SEMANTIC) or {}).items():
        ann = (manifest.get(ANN) or {}).get(role)
        index = IvfIndex(folder / ann_file(role), int(ann["nprobe"])) if ann else None
        tables[role] = VectorTable(folder / vectors_file(role), int(manifest["passages"]), model, index)
    return tables


def open_sentence_vectors(folder: Path, manifest: dict[str, Any]) -> dict[str, VectorTable]:
    """Each role's sentence vectors that the snapshot in ``folder`` holds."""
    return {
        role: VectorTable(folder / sentence_vectors_file(role), int(manifest["sentences"]), model)
        for role, model in (manifest.get(SENTENCE_VECTORS) or {}).items()
    }
