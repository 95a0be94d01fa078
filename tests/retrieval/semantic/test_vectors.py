"""A snapshot's vector tables: int8 codes and their scales, and the float16 files of older snapshots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from retrieval.index.format import legacy_vectors_file, scales_file
from retrieval.semantic.vectors import LEGACY_DTYPE, VectorTable, open_table, quantize, table_files

NAME = "vectors.english.i8"


def unit_rows(count: int, width: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, width)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def stored(folder: Path, rows: np.ndarray) -> VectorTable:
    codes, scales = quantize(rows)
    codes.tofile(folder / NAME)
    scales.tofile(folder / scales_file(NAME))
    return open_table(folder, NAME, *rows.shape)


def test_quantized_rows_keep_every_component_within_half_a_step() -> None:
    rows = unit_rows(200, 384, seed=1)
    rows[3] = 0.0  # an empty row keeps a zero scale rather than dividing by it
    codes, scales = quantize(rows)
    assert codes.dtype == np.int8 and scales.dtype == np.float32
    assert np.abs(codes).max(axis=1)[np.arange(200) != 3].min() == 127  # the largest maps to ±127
    error = np.abs(codes * scales[:, None] - rows)
    assert np.all(error <= scales[:, None] / 2 + 1e-7)
    assert scales[3] == 0 and not codes[3].any()


def test_cosines_are_the_codes_product_scaled_and_move_little_from_the_exact_ones(tmp_path: Path) -> None:
    rows = unit_rows(300, 384, seed=2)
    table = stored(tmp_path, rows)
    query = unit_rows(1, 384, seed=3)[0]
    picked = np.array([0, 299, 17, 17, 3])
    codes, scales = quantize(rows)
    expected = (codes[picked].astype(np.float32) @ query) * scales[picked]
    np.testing.assert_array_equal(table.cosines(picked, query), expected)
    assert np.abs(table.cosines(picked, query) - rows[picked] @ query).max() < 2e-3
    assert table.cosines(np.zeros(0, np.int64), query).shape == (0,)


def test_exact_nearest_ranks_by_the_same_cosines(tmp_path: Path) -> None:
    rows = unit_rows(500, 32, seed=4)
    table = stored(tmp_path, rows)
    query = unit_rows(1, 32, seed=5)[0]
    expected = table.cosines(np.arange(500), query)
    pids, scores = table.nearest(query, 10)
    np.testing.assert_array_equal(pids, np.argsort(-expected, kind="stable")[:10])
    np.testing.assert_allclose(scores, expected[pids], rtol=1e-6)


def test_an_older_snapshots_float16_table_is_read_and_encoded_like_a_new_one(tmp_path: Path) -> None:
    """An upgraded bot answers from its old snapshot, and the next reindex reuses its vectors."""
    rows = unit_rows(50, 64, seed=6).astype(LEGACY_DTYPE)
    rows.tofile(tmp_path / legacy_vectors_file(NAME))
    assert table_files(tmp_path, NAME) == (legacy_vectors_file(NAME),)
    table = open_table(tmp_path, NAME, *rows.shape)
    query = unit_rows(1, 64, seed=7)[0]
    np.testing.assert_array_equal(
        table.cosines(np.array([4, 9]), query), rows[[4, 9]].astype(np.float32) @ query
    )
    codes, scales = table.encoded(np.array([4, 9]))
    expected_codes, expected_scales = quantize(rows[[4, 9]])
    np.testing.assert_array_equal(codes, expected_codes)
    np.testing.assert_array_equal(scales, expected_scales)
