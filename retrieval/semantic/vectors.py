"""A snapshot's passage and sentence embeddings: int8 codes with one float32 scale a row, memory-mapped.

Row ``i`` is passage (or sentence) ``i``'s unit vector, stored as ``codes[i] * scales[i]``: the
largest component maps to ±127. At a million passages the vectors are most of the snapshot and
must stay in the page cache for fast answers (mostly sentence vectors: about 17 GB in float16),
and int8 halves that. The rounding moved a cosine by 3e-4 on average (at most 2e-3, over 50 SQuAD
questions against every passage and sentence of its corpus), and ``wikiqa eval`` read the same
as with float16 on SciFact and to within one question on SQuAD (of 5,397) and XQuAD-ru (of 612).

Snapshots written before (float16 rows, in ``*.f16`` files) are still read, so an upgraded bot
keeps answering from them and its next reindex reuses their vectors instead of embedding again.
The manifest's ``semantic`` and ``sentence_vectors`` entries name the model, its version, width
and quantization, so a question is only ever compared with passages embedded by the same model.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.index.arrays import OFFSET_DTYPE, map_array
from retrieval.index.format import (
    FILES,
    Manifest,
    ann_file,
    legacy_vectors_file,
    scales_file,
    sentence_vectors_file,
    vectors_file,
)
from retrieval.semantic.ann import IvfIndex
from retrieval.semantic.encoders import ROLE, describe

CODE_DTYPE = np.int8
SCALE_DTYPE = np.float32
LEGACY_DTYPE = np.float16
_LEVELS = 127


def quantize(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The int8 codes and float32 scales of float ``rows`` (a zero row keeps scale 0)."""
    values = np.asarray(rows, dtype=np.float32)
    scales = (np.abs(values).max(axis=1, initial=0.0) / np.float32(_LEVELS)).astype(SCALE_DTYPE)
    divisor = np.where(scales > 0, scales, np.float32(1))
    codes = np.clip(np.rint(values / divisor[:, None]), -_LEVELS, _LEVELS).astype(CODE_DTYPE)
    return codes, scales


class VectorTable:
    """A snapshot's passage (or sentence) vectors, read in place, and its nearest-neighbour index if
    it has one. ``scales`` is None for a float16 table of an older snapshot."""

    def __init__(self, codes: np.ndarray, scales: np.ndarray | None, ann: IvfIndex | None = None) -> None:
        self._codes = codes
        self._scales = scales
        self._ann = ann
        self._dense: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._codes)

    @property
    def shape(self) -> tuple[int, int]:
        return self._codes.shape

    def __getitem__(self, index: Any) -> np.ndarray:
        """The float32 vectors of rows ``index`` (a slice or an array of row numbers)."""
        codes = self._codes[index].astype(np.float32)
        if self._scales is None:
            return codes
        return codes * self._scales[index][..., None]

    def encoded(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``index`` as int8 codes and scales: copied as they are, or quantized from float16."""
        if self._scales is None:
            return quantize(self._codes[index])
        return self._codes[index], self._scales[index]

    def cosines(self, pids: np.ndarray, query: np.ndarray) -> np.ndarray:
        """The cosine of ``query`` (a unit vector) with each of ``pids``' passages."""
        pids = np.asarray(pids, dtype=np.int64)
        products = np.take(self._codes, pids, axis=0).astype(np.float32) @ query
        return products if self._scales is None else products * self._scales[pids]

    def nearest(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` passages closest to ``query``, best first, with their cosines: from the index
        where there is one, else exactly, over a float32 copy made at the first search (numpy has
        no fast int8 product; the copy is at most a few tens of MB below the index's threshold)."""
        n = min(n, len(self))
        if n <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if self._ann is not None:
            return self._ann.nearest(query, n)
        if self._dense is None:
            self._dense = self[:]
        scores = self._dense @ query
        top = np.argpartition(-scores, n - 1)[:n]
        order = np.argsort(-scores[top], kind="stable")
        return top[order].astype(np.int64), scores[top[order]]


def open_table(
    folder: Path, name: str, rows: int, dimensions: int, ann: IvfIndex | None = None
) -> VectorTable:
    """The table stored as ``name`` (codes, beside their scales) in ``folder``, or the float16
    file an older snapshot stored in its place."""
    files = table_files(folder, name)
    if len(files) == 1:
        return VectorTable(map_array(folder / files[0], LEGACY_DTYPE).reshape(rows, dimensions), None, ann)
    codes = map_array(folder / files[0], CODE_DTYPE).reshape(rows, dimensions)
    return VectorTable(codes, map_array(folder / files[1], SCALE_DTYPE).reshape(rows), ann)


@contextlib.contextmanager
def new_table(folder: Path, name: str, rows: int, dimensions: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The files of a new table ``name`` in ``folder``, as its writable (codes, scales) to fill:
    on disk once the block ends (a failed build's folder is thrown away, so nothing is flushed
    then).

    The files' blocks are allocated before they are mapped: a write through the mapping into a
    sparse file on a full disk kills the process with SIGBUS, with no message and no cleanup,
    where the allocation fails as an ordinary ``OSError`` (ENOSPC) that the build reports.
    """
    codes_path, scales_path = folder / name, folder / scales_file(name)
    _allocate(codes_path, rows * dimensions * np.dtype(CODE_DTYPE).itemsize)
    _allocate(scales_path, rows * np.dtype(SCALE_DTYPE).itemsize)
    codes = np.memmap(codes_path, dtype=CODE_DTYPE, mode="r+", shape=(rows, dimensions)) if rows else None
    scales = np.memmap(scales_path, dtype=SCALE_DTYPE, mode="r+", shape=(rows,)) if rows else None
    if codes is None or scales is None:  # numpy cannot map an empty file
        yield np.zeros((0, dimensions), CODE_DTYPE), np.zeros(0, SCALE_DTYPE)
        return
    yield codes, scales
    codes.flush()
    scales.flush()


def _allocate(path: Path, size: int) -> None:
    """A new file of ``size`` bytes whose blocks the file system has reserved."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if size:
            os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)


def table_files(folder: Path, name: str) -> tuple[str, ...]:
    """The files that hold the table stored as ``name`` in ``folder``: its codes and scales, or
    the float16 file of an older snapshot."""
    if (folder / name).exists() or not (folder / legacy_vectors_file(name)).exists():
        return name, scales_file(name)
    return (legacy_vectors_file(name),)


@dataclass(frozen=True, slots=True)
class SnapshotVectors:
    """What the semantic stage reads of a snapshot: every passage's and every sentence's vector,
    and where each passage's sentences begin among the sentence rows."""

    passages: VectorTable
    sentences: VectorTable
    sentence_offsets: np.ndarray


def open_snapshot_vectors(folder: Path, manifest: Manifest) -> SnapshotVectors | None:
    """The vectors of the snapshot in ``folder`` if the installed model made them, else None (a
    lexical-only snapshot, or one an older wikiqa embedded with other models)."""
    model = describe()
    if manifest.semantic.get(ROLE) != model or manifest.sentence_vectors.get(ROLE) != model:
        return None
    width = int(model["dimensions"])
    ann = manifest.ann.get(ROLE)
    index = IvfIndex(folder / ann_file(ROLE), int(ann["nprobe"])) if ann else None
    passages = open_table(folder, vectors_file(ROLE), manifest.passages, width, index)
    sentences = open_table(folder, sentence_vectors_file(ROLE), manifest.sentences, width)
    offsets = map_array(folder / FILES["sentence_offsets"], OFFSET_DTYPE)
    return SnapshotVectors(passages, sentences, offsets)
