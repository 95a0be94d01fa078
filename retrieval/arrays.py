"""Flat array and string-table files: written by streaming appends, read back through mmap.

A snapshot's big columns (passage texts, token ids, offsets) are written batch by batch while the
store is read, so their final length is unknown until the end. They are therefore plain
little-endian binary files (the dtype is fixed by the reader) rather than ``.npy`` files, and are
read with ``np.frombuffer`` over a read-only ``mmap``: loading costs a few system calls whatever
the corpus size, and pages are shared between processes serving the same snapshot.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np

OFFSET_DTYPE = np.dtype("<i8")


class ArrayWriter:
    """Appends arrays of one dtype to a file."""

    def __init__(self, path: Path, dtype: np.dtype | str) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.count = 0

    def append(self, values: np.ndarray) -> None:
        array = np.ascontiguousarray(values, dtype=self.dtype)
        self._file.write(array.tobytes())
        self.count += array.size

    def close(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()


class StringTableWriter:
    """Strings as one UTF-8 blob plus an offsets array (``n + 1`` byte offsets)."""

    def __init__(self, blob_path: Path, offsets_path: Path) -> None:
        self._blob = open(blob_path, "wb")  # noqa: SIM115 - closed in close()
        self._offsets = ArrayWriter(offsets_path, OFFSET_DTYPE)
        self._offsets.append(np.zeros(1, OFFSET_DTYPE))
        self._position = 0

    def append_encoded(self, blob: bytes, lengths: np.ndarray) -> None:
        """Strings already encoded and concatenated, with their byte lengths."""
        self._blob.write(blob)
        self._offsets.append(self._position + np.cumsum(lengths, dtype=OFFSET_DTYPE))
        self._position += len(blob)

    def extend(self, strings: list[str]) -> None:
        encoded = [s.encode("utf-8", "surrogatepass") for s in strings]
        self.append_encoded(b"".join(encoded), np.fromiter(map(len, encoded), OFFSET_DTYPE, len(encoded)))

    @property
    def count(self) -> int:
        return self._offsets.count - 1

    def close(self) -> None:
        self._blob.flush()
        os.fsync(self._blob.fileno())
        self._blob.close()
        self._offsets.close()


def map_array(path: Path, dtype: np.dtype | str) -> np.ndarray:
    """The file's contents as a read-only array backed by the page cache (empty file: empty array)."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            return np.empty(0, dtype)
        buffer = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    return np.frombuffer(buffer, dtype)


class StringTable:
    """Read side of :class:`StringTableWriter`: strings decoded on demand."""

    def __init__(self, blob_path: Path, offsets_path: Path) -> None:
        self._blob = map_array(blob_path, np.uint8)
        self._offsets = map_array(offsets_path, OFFSET_DTYPE)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index: int) -> str:
        start, end = self._offsets[index], self._offsets[index + 1]
        return self._blob[start:end].tobytes().decode("utf-8", "surrogatepass")

    def raw(self, index: int) -> bytes:
        start, end = self._offsets[index], self._offsets[index + 1]
        return self._blob[start:end].tobytes()


def fsync_dir(path: Path) -> None:
    """Make a rename or file creation inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
