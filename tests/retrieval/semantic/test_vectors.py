"""A snapshot's vector tables: int8 and packed 6-bit codes with their scales, and the float16 files of
older snapshots."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from retrieval.index.format import center_file, legacy_vectors_file, scales_file
from retrieval.semantic.vectors import (
    LEGACY_DTYPE,
    Int8Codec,
    PackedCodec,
    VectorTable,
    new_table,
    open_table,
    pack6,
    quantize,
    sentence_codec,
    table_files,
    unpack6,
)
from tests.paths import ROOT

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


def _mapping_flags(path: Path) -> list[str]:
    """The kernel's VmFlags of this process's mappings of ``path``."""
    flags, current = [], None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        parts = line.split()
        if parts and "-" in parts[0] and len(parts) >= 5 and not parts[0].endswith(":"):
            current = parts[5] if len(parts) > 5 else None
        elif parts and parts[0] == "VmFlags:" and current == str(path):
            flags.append(" ".join(parts[1:]))
    return flags


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="no /proc/self/smaps (not Linux)")
def test_tables_are_mapped_for_random_access_so_a_question_reads_pages_not_readahead(tmp_path: Path) -> None:
    """A question reads a few hundred scattered rows; with the kernel's readahead, the first
    questions after a reboot read most of a gigabytes-large table (3.4 GB against 0.55 GB over 20
    Cyrillic questions at a million passages, 140 ms a question against 55)."""
    rows = unit_rows(64, 384, seed=5)
    table = stored(tmp_path, rows)
    table.cosines(np.array([3, 40]), rows[3])
    for name in (NAME, scales_file(NAME)):
        flags = _mapping_flags(tmp_path / name)
        assert flags and all("rr" in f.split() for f in flags), (name, flags)


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
    codes, scales = table.encoded(np.array([4, 9]), Int8Codec())
    expected_codes, expected_scales = quantize(rows[[4, 9]])
    np.testing.assert_array_equal(codes, expected_codes)
    np.testing.assert_array_equal(scales, expected_scales)


FILL_ON_A_SMALL_DISK = textwrap.dedent(
    """
    import subprocess, sys
    from pathlib import Path
    folder = Path(sys.argv[1])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], check=True)
    from retrieval.semantic.vectors import Int8Codec, new_table
    try:
        with new_table(folder, "vectors.e5.i8", 2000, 384, Int8Codec()) as (codes, scales):
            codes[:] = 1
            scales[:] = 1.0
    except OSError as err:
        print(err.strerror)
        sys.exit(1)
    """
)


def test_a_table_too_large_for_the_disk_is_an_error_not_a_killed_process(tmp_path: Path) -> None:
    """768 kB of vectors on a 256 kB file system: the space is claimed before the rows are written
    through the mapping, which would otherwise die of SIGBUS with no word said."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root and unshare")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a mount namespace here: {probe.stderr.decode(errors='replace').strip()}")
    (tmp_path / "small").mkdir()
    filled = subprocess.run(
        ["unshare", "-m", "--propagation", "private", sys.executable, "-c", FILL_ON_A_SMALL_DISK,
         str(tmp_path / "small")],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert (filled.returncode, filled.stdout.strip()) == (1, "No space left on device"), filled.stderr


def e5_like_rows(count: int, seed: int) -> np.ndarray:
    """Unit rows around a shared direction, as e5's are (their mean is about 0.87 long)."""
    codec = sentence_codec()
    noise = np.random.default_rng(seed).normal(size=(count, len(codec.center))) * codec.spread
    rows = codec.center + noise.astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_six_bit_codes_pack_four_to_three_bytes_and_unpack_to_the_same_values() -> None:
    levels = np.random.default_rng(8).integers(0, 63, size=(7, 384)).astype(np.uint8)
    packed = pack6(levels)
    assert packed.shape == (7, 288) and packed.dtype == np.uint8
    np.testing.assert_array_equal(unpack6(packed), levels)


def test_packed_rows_keep_cosines_within_a_thousandth_and_their_products_equal_their_decoding() -> None:
    rows = e5_like_rows(300, seed=9)
    codec = sentence_codec()
    codes, scales = codec.encode(rows)
    decoded = codec.decode(codes, scales)
    queries = e5_like_rows(20, seed=10)
    errors = queries @ decoded.T - queries @ rows.T
    assert np.abs(errors).mean() < 1e-3 and np.abs(errors).max() < 5e-3
    for query in queries[:3]:
        np.testing.assert_allclose(codec.products(codes, scales, query), decoded @ query, atol=1e-5)


def test_a_packed_table_is_read_back_with_the_center_it_was_written_with(tmp_path: Path) -> None:
    """A later wikiqa may ship another center; a table keeps its own."""
    rows = e5_like_rows(40, seed=11)
    written = PackedCodec(sentence_codec().center * 0.9, sentence_codec().spread)
    name = "vectors.e5.sentences.u6"
    with new_table(tmp_path, name, 40, 384, written) as (codes, scales):
        codes[:], scales[:] = written.encode(rows)
    assert table_files(tmp_path, name) == (name, scales_file(name), center_file(name))
    table = open_table(tmp_path, name, 40, 384)
    assert table.codec.same(written) and not table.codec.same(sentence_codec())
    np.testing.assert_allclose(table[:], written.decode(*written.encode(rows)), atol=1e-6)
    codes, _ = table.encoded(np.array([1, 2]), written)  # the same codec: copied as stored
    np.testing.assert_array_equal(codes, written.encode(rows[[1, 2]])[0])
    recoded, rescaled = table.encoded(np.array([1, 2]), sentence_codec())
    np.testing.assert_allclose(sentence_codec().decode(recoded, rescaled), rows[[1, 2]], atol=5e-3)


def test_an_older_snapshots_int8_sentence_table_is_found_under_todays_name(tmp_path: Path) -> None:
    rows = unit_rows(30, 384, seed=12)
    codes, scales = quantize(rows)
    codes.tofile(tmp_path / "vectors.e5.sentences.i8")
    scales.tofile(tmp_path / "vectors.e5.sentences.scale.f32")
    table = open_table(tmp_path, "vectors.e5.sentences.u6", 30, 384)
    assert isinstance(table.codec, Int8Codec)
    np.testing.assert_allclose(table.cosines(np.array([5]), rows[5]), [1.0], atol=2e-3)


def test_the_shipped_center_is_e5s_center_on_the_bundled_corpus(semantic_snapshot) -> None:
    """Measured on the bundled corpus's sentences: a test rebuilds them and measures again, so a
    changed model or corpus cannot leave a stale center behind."""
    from retrieval.search.semantic import usable_vectors

    vectors = usable_vectors(semantic_snapshot)
    assert vectors is not None
    sentences = vectors.sentences[:]
    codec = sentence_codec()
    np.testing.assert_allclose(sentences.mean(axis=0), codec.center, atol=2e-3)
    np.testing.assert_allclose(sentences.std(axis=0), codec.spread, rtol=0.05)
