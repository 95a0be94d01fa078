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

from retrieval.index.format import SEMANTIC, vectors_file

VECTOR_DTYPE = np.float16
# Rows turned into float32 at a time by an exact search: a few MB, whatever the corpus size.
_SCAN_ROWS = 16_384


class VectorTable:
    """One role's passage vectors, read in place."""

    def __init__(self, path: Path, passages: int, model: dict[str, Any]) -> None:
        self.model = model
        self.dimensions = int(model["dimensions"])
        self._rows = np.memmap(path, dtype=VECTOR_DTYPE, mode="r", shape=(passages, self.dimensions))

    def __len__(self) -> int:
        return len(self._rows)

    def cosines(self, pids: np.ndarray, query: np.ndarray) -> np.ndarray:
        """The cosine of ``query`` (a unit vector) with each of ``pids``' passages."""
        return self._rows[np.asarray(pids, dtype=np.int64)].astype(np.float32) @ query

    def nearest(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` passages closest to ``query``, best first, with their cosines (exact)."""
        n = min(n, len(self._rows))
        if n <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        best_ids = np.zeros(0, np.int64)
        best = np.zeros(0, np.float32)
        for start in range(0, len(self._rows), _SCAN_ROWS):
            scores = self._rows[start : start + _SCAN_ROWS].astype(np.float32) @ query
            take = min(n, len(scores))
            top = np.argpartition(-scores, take - 1)[:take]
            best_ids = np.concatenate([best_ids, top + start])
            best = np.concatenate([best, scores[top]])
            if len(best) > n:
                keep = np.argpartition(-best, n - 1)[:n]
                best_ids, best = best_ids[keep], best[keep]
        order = np.argsort(-best, kind="stable")
        return best_ids[order], best[order]


def open_vectors(folder: Path, manifest: dict[str, Any]) -> dict[str, VectorTable]:
    """Each role's table that the snapshot in ``folder`` holds (none for a lexical-only one)."""
    return {
        role: VectorTable(folder / vectors_file(role), int(manifest["passages"]), model)
        for role, model in (manifest.get(SEMANTIC) or {}).items()
    }
