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
        if array.size:
            self._file.write(memoryview(array.reshape(-1)).cast("B"))  # the array's own bytes, no copy
        self.count += array.size

    def close(self) -> None:
        if self._file.closed:
            return
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
        if self._blob.closed:
            return
        self._blob.flush()
        os.fsync(self._blob.fileno())
        self._blob.close()
        self._offsets.close()


def map_array(path: Path, dtype: np.dtype | str) -> np.ndarray:
    """The file's contents as a read-only array backed by the page cache (empty file: empty array).

    Access is declared random: a question reads a few scattered passages, and the kernel's default
    readahead would map ~128 KiB around each one, growing the process's RSS for nothing.
    """
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            return np.empty(0, dtype)
        buffer = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    if hasattr(mmap, "MADV_RANDOM"):
        buffer.madvise(mmap.MADV_RANDOM)
    return np.frombuffer(buffer, dtype)


class BlobReader:
    """Byte ranges of a file, read with ``pread``: for the big columns read a passage at a time.

    Passage texts and token arrays are most of a snapshot (~1 GB at a million passages). Mapped,
    every question would fault scattered pages of them into the process (the kernel maps cached
    neighbours too), so serving RSS would creep towards the file sizes; one ``pread`` per
    passage costs a couple of microseconds and keeps them out of the process. The file stays
    readable after a newer build deletes it, as long as this reader holds it open.
    """

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - lives as long as the reader

    def read(self, start: int, end: int) -> bytes:
        return os.pread(self._file.fileno(), int(end - start), int(start))


class MappedBlob:
    """Byte ranges of a small file kept mapped: the vocabulary, whose binary search reads about
    twenty scattered terms per lookup, each a system call with :class:`BlobReader`. Its pages
    are at most the file's size (about 1% of a snapshot)."""

    def __init__(self, path: Path) -> None:
        self._bytes = map_array(path, np.uint8)

    def read(self, start: int, end: int) -> bytes:
        return self._bytes[start:end].tobytes()


class StringTable:
    """Read side of :class:`StringTableWriter`: strings decoded on demand, read with ``pread``
    (``mapped``: from a :class:`MappedBlob`)."""

    def __init__(self, blob_path: Path, offsets_path: Path, *, mapped: bool = False) -> None:
        self._blob: BlobReader | MappedBlob = MappedBlob(blob_path) if mapped else BlobReader(blob_path)
        self._offsets = map_array(offsets_path, OFFSET_DTYPE)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index: int) -> str:
        return self.raw(index).decode("utf-8", "surrogatepass")

    def raw(self, index: int) -> bytes:
        return self._blob.read(self._offsets[index], self._offsets[index + 1])


def fsync_dir(path: Path) -> None:
    """Make a rename or file creation inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
