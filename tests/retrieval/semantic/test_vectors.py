"""A snapshot's vector table: cosines read from the float16 file as numpy's own cast computes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from retrieval.semantic.vectors import VECTOR_DTYPE, VectorTable


def stored(tmp_path: Path, rows: np.ndarray) -> VectorTable:
    path = tmp_path / "vectors.f16"
    rows.tofile(path)
    return VectorTable(path, len(rows), {"dimensions": rows.shape[1]})


def test_cosines_equal_the_float16_rows_cast_to_float32_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    rows = rng.normal(scale=0.05, size=(300, 64)).astype(VECTOR_DTYPE)
    # Every kind of float16: subnormals, both zeros, the largest finite and the smallest normal.
    rows[0, :6] = np.array([6e-8, -6e-8, 0.0, -0.0, 65504.0, 6.1e-5], dtype=VECTOR_DTYPE)
    table = stored(tmp_path, rows)
    query = rng.normal(size=64).astype(np.float32)
    picked = np.array([0, 299, 17, 17, 3])
    np.testing.assert_array_equal(table.cosines(picked, query), rows[picked].astype(np.float32) @ query)
    assert table.cosines(np.zeros(0, np.int64), query).shape == (0,)


def test_exact_nearest_ranks_by_the_same_cosines(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    rows = rng.normal(size=(500, 32)).astype(VECTOR_DTYPE)
    table = stored(tmp_path, rows)
    query = rng.normal(size=32).astype(np.float32)
    expected = rows.astype(np.float32) @ query
    pids, scores = table.nearest(query, 10)
    np.testing.assert_array_equal(pids, np.argsort(-expected, kind="stable")[:10])
    np.testing.assert_array_equal(scores, expected[pids])
