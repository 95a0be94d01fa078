"""A snapshot's passage and sentence embeddings, memory-mapped: compact codes with one float32
scale a row.

At a million passages the vectors are most of the snapshot (about 8.5 million sentences against
a million passages) and must stay in the page cache for fast answers, so each table is coded:

- **passages**, int8: row ``i`` is ``codes[i] * scales[i]``, its largest component at ±127. The
  rounding moved a cosine by 3e-4 on average (at most 2e-3, over 50 SQuAD questions against
  every passage and sentence of its corpus), and ``wikiqa eval`` read as with float16.
- **sentences**, 6 bits packed four to three bytes (a quarter less than int8): e5's vectors
  share one large component (the mean of unit rows is 0.87 long), so each row is coded as its
  offset from that center, per dimension in units of its spread, scaled to its largest: ``center
  + scales[i] * (codes[i] - 31) * spread``. The cosine moved by 8e-4 on average against int8's
  4e-4 (with int8's per-row scale and 6 bits: 1.2e-3), and ``wikiqa eval`` read within a
  question or two of int8 on every set.

The center and spread are the model's, measured once on the bundled corpus and shipped with the
package (:func:`sentence_codec`); each table keeps its own copy, so a table is read with the
codec it was written with. Tables of older snapshots are still read: int8 sentence tables (their
vectors reused by the next reindex, re-coded) and float16 rows (``*.f16`` files). The manifest's
``semantic`` and ``sentence_vectors`` entries name the model, its version, width and
quantization, so a question is only ever compared with passages embedded by the same model.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from retrieval.index.arrays import OFFSET_DTYPE, map_array
from retrieval.index.format import (
    FILES,
    Manifest,
    ann_file,
    center_file,
    int8_vectors_file,
    legacy_vectors_file,
    scales_file,
    sentence_vectors_file,
    vectors_file,
)
from retrieval.semantic.ann import IvfIndex
from retrieval.semantic.encoders import ROLE, describe

SCALE_DTYPE = np.float32
LEGACY_DTYPE = np.float16
# e5's sentence vectors' center and per-dimension spread (float32, two rows), measured on the
# bundled corpus's 911 sentences: coded around them, the SQuAD corpus's sentences lost as little as
# around their own (cosine error 7.8e-4 against 7.4e-4), since a row's own scale absorbs the rest.
SENTENCE_CENTER = Path(__file__).with_name("e5_sentence_center.f32")
# Rows a table's mean is taken over (:meth:`VectorTable.mean`).
MEAN_SAMPLE = 20_000
_INT8_LEVELS = 127
_PACKED_LEVELS = 31  # codes 0..62 around 31: six bits


class Codec(Protocol):
    """How a table's rows are stored: codes (one row of bytes a vector) and a scale a row."""

    code_dtype: np.dtype

    def encode(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The codes and scales of float ``rows``."""
        ...

    def decode(self, codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """The float32 vectors of ``codes`` and ``scales``."""
        ...

    def products(self, codes: np.ndarray, scales: np.ndarray, query: np.ndarray) -> np.ndarray:
        """The dot product of ``query`` with each decoded row, without making the rows."""
        ...

    def code_width(self, dimensions: int) -> int: ...

    def same(self, other: Codec) -> bool:
        """Whether codes of ``other`` mean the same here (copied, not re-coded)."""
        ...

    def stored(self) -> np.ndarray | None:
        """What must be kept beside the codes to read them again (None: nothing)."""
        ...


class Int8Codec:
    """Each row's components rounded to ±127 of its largest (a zero row keeps scale 0)."""

    code_dtype = np.dtype(np.int8)

    def encode(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return quantize(rows)

    def decode(self, codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
        return codes.astype(np.float32) * scales[..., None]

    def products(self, codes: np.ndarray, scales: np.ndarray, query: np.ndarray) -> np.ndarray:
        return (codes.astype(np.float32) @ query) * scales

    def code_width(self, dimensions: int) -> int:
        return dimensions

    def same(self, other: Codec) -> bool:
        return isinstance(other, Int8Codec)

    def stored(self) -> None:
        return None


def quantize(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The int8 codes and float32 scales of float ``rows`` (a zero row keeps scale 0)."""
    values = np.asarray(rows, dtype=np.float32)
    scales = (np.abs(values).max(axis=1, initial=0.0) / np.float32(_INT8_LEVELS)).astype(SCALE_DTYPE)
    divisor = np.where(scales > 0, scales, np.float32(1))
    codes = np.clip(np.rint(values / divisor[:, None]), -_INT8_LEVELS, _INT8_LEVELS).astype(np.int8)
    return codes, scales


class PackedCodec:
    """Six bits a component: a row's offset from ``center`` in units of ``spread``, scaled so that
    its largest is ±31, packed four components to three bytes."""

    code_dtype = np.dtype(np.uint8)

    def __init__(self, center: np.ndarray, spread: np.ndarray) -> None:
        self.center = np.asarray(center, dtype=np.float32)
        self.spread = np.asarray(spread, dtype=np.float32)

    def encode(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        offsets = (np.asarray(rows, dtype=np.float32) - self.center) / self.spread
        scales = (np.abs(offsets).max(axis=1, initial=0.0) / np.float32(_PACKED_LEVELS)).astype(SCALE_DTYPE)
        divisor = np.where(scales > 0, scales, np.float32(1))
        levels = np.clip(np.rint(offsets / divisor[:, None]), -_PACKED_LEVELS, _PACKED_LEVELS)
        return pack6((levels + _PACKED_LEVELS).astype(np.uint8)), scales

    def decode(self, codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
        offsets = unpack6(codes).astype(np.float32) - np.float32(_PACKED_LEVELS)
        return self.center + offsets * scales[..., None] * self.spread

    def products(self, codes: np.ndarray, scales: np.ndarray, query: np.ndarray) -> np.ndarray:
        weights = (query * self.spread).astype(np.float32)
        # Each of a group's four levels times its own components of the weights, summed: the
        # unpacked rows are never put back in order (half the time of unpack6 and one product).
        levels = _levels6(codes)
        total = sum(level.astype(np.float32) @ weights[k::4] for k, level in enumerate(levels))
        offsets = total - np.float32(_PACKED_LEVELS) * weights.sum(dtype=np.float32)
        return offsets * scales + np.float32(self.center @ query)

    def code_width(self, dimensions: int) -> int:
        if dimensions % 4:
            raise ValueError(
                f"6-bit codes pack four components to three bytes: {dimensions} is not a multiple of 4"
            )
        return dimensions // 4 * 3

    def same(self, other: Codec) -> bool:
        return (
            isinstance(other, PackedCodec)
            and np.array_equal(self.center, other.center)
            and np.array_equal(self.spread, other.spread)
        )

    def stored(self) -> np.ndarray:
        """The center and the spread, two rows (a table's :func:`center_file`)."""
        return np.stack([self.center, self.spread])


def pack6(levels: np.ndarray) -> np.ndarray:
    """(rows, d) values below 64 as (rows, d/4*3) bytes: four values in three bytes."""
    a, b, c, d = (levels[:, i::4].astype(np.uint8) for i in range(4))  # a row's components 0, 4, 8 …
    packed = np.empty((len(levels), a.shape[1], 3), np.uint8)
    packed[:, :, 0] = a | (b << 6)
    packed[:, :, 1] = (b >> 2) | (c << 4)
    packed[:, :, 2] = (c >> 4) | (d << 2)
    return packed.reshape(len(levels), a.shape[1] * 3)


def _levels6(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The levels of components 0, 4, 8 …, then 1, 5, 9 … and so on, of (rows, d/4*3) bytes."""
    bytes3 = packed.reshape(len(packed), packed.shape[1] // 3, 3)
    first, second, third = bytes3[:, :, 0], bytes3[:, :, 1], bytes3[:, :, 2]
    return first & 63, (first >> 6) | ((second & 15) << 2), (second >> 4) | ((third & 3) << 4), third >> 2


def unpack6(packed: np.ndarray) -> np.ndarray:
    """The inverse of :func:`pack6`."""
    levels = np.stack(_levels6(packed), axis=2)
    return levels.reshape(len(packed), levels.shape[1] * 4)


def sentence_codec() -> PackedCodec:
    """The codec new sentence tables are written with: around the model's center (shipped)."""
    return PackedCodec(*np.fromfile(SENTENCE_CENTER, dtype=SCALE_DTYPE).reshape(2, -1))


def codec_from(stored: np.ndarray | None) -> Codec:
    """The codec whose :meth:`Codec.stored` is ``stored``: int8 where nothing was kept, else 6-bit."""
    return Int8Codec() if stored is None else PackedCodec(*stored)


class Float16Codec:
    """An older snapshot's float16 rows, read only (re-coded when reused)."""

    code_dtype = np.dtype(LEGACY_DTYPE)

    def encode(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise TypeError("float16 tables are no longer written")

    def decode(self, codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
        return codes.astype(np.float32)

    def products(self, codes: np.ndarray, scales: np.ndarray, query: np.ndarray) -> np.ndarray:
        return codes.astype(np.float32) @ query

    def code_width(self, dimensions: int) -> int:
        return dimensions

    def same(self, other: Codec) -> bool:
        return False

    def stored(self) -> None:
        return None


class VectorTable:
    """A snapshot's passage (or sentence) vectors, read in place through their codec, and its
    nearest-neighbour index if it has one."""

    def __init__(
        self, codec: Codec, codes: np.ndarray, scales: np.ndarray, ann: IvfIndex | None = None
    ) -> None:
        self.codec = codec
        self._codes = codes
        self._scales = scales
        self._ann = ann
        self._dense: np.ndarray | None = None
        self._mean: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._codes)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, dimensions) of the vectors, as decoded."""
        return len(self._codes), self[:0].shape[1]

    def __getitem__(self, index: Any) -> np.ndarray:
        """The float32 vectors of rows ``index`` (a slice or an array of row numbers)."""
        return self.codec.decode(self._codes[index], self._scales[index])

    def mean(self) -> np.ndarray:
        """The mean vector of the table, from at most ``MEAN_SAMPLE`` rows spread evenly over it
        (a few milliseconds, once: the mean of a million rows differs from it by about 1e-4 a
        component)."""
        if self._mean is None:
            rows = np.unique(np.linspace(0, len(self) - 1, min(len(self), MEAN_SAMPLE)).astype(np.int64))
            self._mean = self[rows].mean(axis=0) if len(rows) else np.zeros(self.shape[1], np.float32)
        return self._mean

    def encoded(self, index: np.ndarray, codec: Codec) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``index`` as ``codec``'s codes and scales: copied where they are already, else
        decoded and coded again."""
        if self.codec.same(codec):
            return self._codes[index], self._scales[index]
        return codec.encode(self[index])

    def cosines(self, pids: np.ndarray, query: np.ndarray) -> np.ndarray:
        """The cosine of ``query`` (a unit vector) with each of ``pids``' rows."""
        pids = np.asarray(pids, dtype=np.int64)
        return self.codec.products(np.take(self._codes, pids, axis=0), self._scales[pids], query)

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
    """The table stored as ``name`` in ``folder``, in whichever form it was written (:func:`table_files`)."""
    files = table_files(folder, name)
    codec = _codec_of(folder, files)
    codes = map_array(folder / files[0], codec.code_dtype).reshape(rows, codec.code_width(dimensions))
    if len(files) == 1:  # float16 rows: no scales
        return VectorTable(codec, codes, np.broadcast_to(np.float32(1), (rows,)), ann)
    return VectorTable(codec, codes, map_array(folder / files[1], SCALE_DTYPE).reshape(rows), ann)


def _codec_of(folder: Path, files: tuple[str, ...]) -> Codec:
    if files[0].endswith(".f16"):
        return Float16Codec()
    stored = np.fromfile(folder / files[2], dtype=SCALE_DTYPE).reshape(2, -1) if len(files) > 2 else None
    return codec_from(stored)


@contextlib.contextmanager
def new_table(
    folder: Path, name: str, rows: int, dimensions: int, codec: Codec
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The files of a new table ``name`` in ``folder``, as its writable (codes, scales) to fill
    with ``codec``'s: on disk once the block ends (a failed build's folder is thrown away, so
    nothing is flushed then).

    The files' blocks are allocated before they are mapped: a write through the mapping into a
    sparse file on a full disk kills the process with SIGBUS, with no message and no cleanup,
    where the allocation fails as an ordinary ``OSError`` (ENOSPC) that the build reports.
    """
    dtype, width = codec.code_dtype, codec.code_width(dimensions)
    codes_path, scales_path = folder / name, folder / scales_file(name)
    _allocate(codes_path, rows * width * dtype.itemsize)
    _allocate(scales_path, rows * np.dtype(SCALE_DTYPE).itemsize)
    stored = codec.stored()
    if stored is not None:
        stored.tofile(folder / center_file(name))
    codes = np.memmap(codes_path, dtype=dtype, mode="r+", shape=(rows, width)) if rows else None
    scales = np.memmap(scales_path, dtype=SCALE_DTYPE, mode="r+", shape=(rows,)) if rows else None
    if codes is None or scales is None:  # numpy cannot map an empty file
        yield np.zeros((0, width), dtype), np.zeros(0, SCALE_DTYPE)
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


def table_forms(name: str) -> tuple[tuple[str, ...], ...]:
    """The sets of files the table ``name`` may be stored as, the form written today first: 6-bit
    codes with their scales and center (a ``.u6`` name), int8 codes with their scales, float16 rows."""
    int8 = int8_vectors_file(name)
    forms: list[tuple[str, ...]] = (
        [(name, scales_file(name), center_file(name))] if name.endswith(".u6") else []
    )
    return (*forms, (int8, scales_file(int8)), (legacy_vectors_file(name),))


def table_files(folder: Path, name: str) -> tuple[str, ...]:
    """The files that hold the table ``name`` in ``folder``: the first form of
    :func:`table_forms` whose codes are there (today's where none is)."""
    forms = table_forms(name)
    return next((form for form in forms if (folder / form[0]).exists()), forms[0])


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
