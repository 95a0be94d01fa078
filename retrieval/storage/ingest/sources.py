"""Which files to read and how: paths expanded (directories recursively), format chosen by suffix,
gzip recognised by its magic bytes, and read failures turned into one sentence naming the file.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from retrieval.errors import SourceError
from retrieval.storage.ingest.jsonl import read_jsonl
from retrieval.storage.ingest.seedtext import read_seed
from retrieval.storage.ingest.sqldump import read_dump
from retrieval.storage.records import ArticleRecord

Reader = Callable[[BinaryIO, str, Callable[[SourceError], None]], Iterator[ArticleRecord]]
READERS: dict[str, Reader] = {".txt": read_seed, ".sql": read_dump, ".jsonl": read_jsonl}
SUFFIXES = ", ".join(sorted({*READERS, *(s + ".gz" for s in READERS)}))
_GZIP_MAGIC = b"\x1f\x8b"


def reader_for(path: Path) -> Reader | None:
    """The reader for ``path`` by its suffix (``.gz`` looks at the suffix before it)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return READERS.get(suffixes[-1]) if suffixes else None


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """The files to ingest, in order: named files as given, directories walked recursively (sorted).

    Everything is checked before anything is read, so a typo fails before any source is written.
    Inside directories, hidden files and files of other types are passed over.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and reader_for(p)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                raise SourceError(str(path), f"is a folder with no files to ingest ({SUFFIXES})")
            files.extend(found)
        elif not path.exists():
            raise SourceError(str(path), "no such file or folder")
        elif reader_for(path) is None:
            raise SourceError(str(path), f"is not a supported file type (expected {SUFFIXES})")
        else:
            files.append(path)
    return files


def read_path(path: Path, on_bad: Callable[[SourceError], None]) -> Iterator[ArticleRecord]:
    """The records in one file of any supported format, plain or gzip-compressed."""
    source = str(path)
    reader = reader_for(path)
    if reader is None:
        raise SourceError(source, f"is not a supported file type (expected {SUFFIXES})")
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed in the finally below, after the generator ends
    except FileNotFoundError:
        raise SourceError(source, "no such file") from None
    except OSError as err:
        raise SourceError(source, f"cannot be opened ({err.strerror or err})") from None
    try:
        stream: BinaryIO = raw
        if raw.read(2) == _GZIP_MAGIC:
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
        else:
            raw.seek(0)
        try:
            yield from reader(stream, source, on_bad)
        except (OSError, EOFError, zlib.error) as err:
            raise SourceError(source, f"cannot be read to the end ({err}); is it truncated?") from None
    finally:
        raw.close()
