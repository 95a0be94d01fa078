"""A snapshot's vector table: cosines read from the float16 file as numpy's own cast computes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from retrieval.semantic.vectors import VECTOR_DTYPE, VectorTable


def test_cosines_equal_the_float16_rows_cast_to_float32_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    rows = rng.normal(scale=0.05, size=(300, 64)).astype(VECTOR_DTYPE)
    # Every kind of float16: subnormals, both zeros, the largest finite and the smallest normal.
    rows[0, :6] = np.array([6e-8, -6e-8, 0.0, -0.0, 65504.0, 6.1e-5], dtype=VECTOR_DTYPE)
    path = tmp_path / "vectors.f16"
    rows.tofile(path)
    table = VectorTable(path, len(rows), {"dimensions": rows.shape[1]})
    query = rng.normal(size=64).astype(np.float32)
    picked = np.array([0, 299, 17, 17, 3])
    expected = rows[picked].astype(np.float32) @ query
    np.testing.assert_array_equal(table.cosines(picked, query), expected)
    assert table.cosines(np.zeros(0, np.int64), query).shape == (0,)
