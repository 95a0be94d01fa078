"""The snapshot folder's format: the name of every file in it, its manifest, and how a whole
snapshot is told from a damaged one.

A snapshot is a folder of flat arrays and string tables (:mod:`retrieval.index.arrays`), a bm25s
index folder and a few ``.npy`` files, with ``manifest.json`` written last. The manifest holds the
build's settings and counts and lists every other file with its size and a BLAKE2b checksum.
Loading compares each file's size with the manifest (one ``stat`` a file, so a truncated, grown
or missing file is caught whatever its size) and checks the checksums of the small files; reading
every byte of a big snapshot at each load would cost more than the question it serves, so
:meth:`Manifest.verify` checks all checksums when asked (``wikiqa stats``, after a build).

A file hard-linked from an earlier snapshot (a reindex links the vectors of an unchanged store)
is listed with the checksum that snapshot recorded rather than hashed again: at a million
passages those files are gigabytes, hashed in more time than the rest of the reindex takes. The
record is what was written, so a file damaged since is still caught by :meth:`Manifest.verify`,
in both snapshots.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from retrieval.errors import SnapshotError

SNAPSHOT_FORMAT = 3  # 3: the manifest lists every file with its size and checksum
MANIFEST = "manifest.json"
# Every file of a snapshot folder, by role.
FILES = {
    "bm25s": "bm25s",  # a folder: bm25s's own save format
    "texts": "passages.text.bin",
    "text_offsets": "passages.text.offsets.bin",
    "meta": "passages.meta.i32",  # (article, ordinal, start, end) per passage
    "sentence_offsets": "sentences.offsets.bin",
    "sentences": "sentences.spans.i32",  # (start, end) relative to the passage text
    "sentence_tokens": "sentences.token_starts.i32",
    "tokens": "tokens.i32",
    "token_offsets": "tokens.offsets.bin",
    "doc_len": "passages.bag_length.npy",
    "idf": "terms.idf.npy",
    "terms": "terms.bin",
    "term_offsets": "terms.offsets.bin",
    "terms_sorted": "terms.sorted.npy",
    "article_ids": "articles.id.bin",
    "article_id_offsets": "articles.id.offsets.bin",
    "titles": "articles.title.bin",
    "title_offsets": "articles.title.offsets.bin",
    "spelling_words": "spelling.words.txt",  # indexed words, most frequent first, one per line
    "spelling_keys": "spelling.keys.npy",  # uint64 key hashes, sorted
    "spelling_key_words": "spelling.key_words.npy",  # int32: the word (line number) each key files
    "bag_terms": "bags.terms.i32",  # written while building, removed once the BM25 matrix is
    "bag_tfs": "bags.tf.u16",
    # The semantic stage's, present when the manifest has a ``semantic`` entry:
    "embed_keys": "passages.embed_keys.u64",  # a hash of what was embedded for each passage
    "sentence_embed_keys": "sentences.embed_keys.u64",  # and for each sentence
}
# Files up to this size have their checksum checked at every load: together they are a few MB at a
# million passages, where hashing them costs well under the time a question takes.
CHECKED_AT_LOAD_BYTES = 1 << 20
_CHUNK = 1 << 20


def vectors_file(role: str) -> str:
    """The file of one semantic role's passage vectors: a (passages, dimensions) int8 matrix of
    codes, scaled by the rows of :func:`scales_file`."""
    return f"vectors.{role}.i8"


def sentence_vectors_file(role: str) -> str:
    """The file of one role's sentence vectors: 6-bit codes packed four to three bytes, each row's
    offset from the model's center (:func:`center_file`) in units of its scale (:func:`scales_file`)."""
    return f"vectors.{role}.sentences.u6"


def scales_file(vectors: str) -> str:
    """The float32 scale of each row of the vectors file ``vectors``."""
    return f"{vectors.removesuffix('.i8')}.scale.f32"


def center_file(vectors: str) -> str:
    """The center and per-dimension spread (two float32 rows) a 6-bit table ``vectors`` is coded around."""
    return f"{vectors}.center.f32"


def int8_vectors_file(vectors: str) -> str:
    """Where snapshots written before 6-bit codes kept the table ``vectors``, as int8 rows."""
    return f"{vectors.removesuffix('.u6').removesuffix('.i8')}.i8"


def legacy_vectors_file(vectors: str) -> str:
    """Where snapshots written before int8 codes kept the table ``vectors``, as float16 rows."""
    return f"{vectors.removesuffix('.u6').removesuffix('.i8')}.f16"


def ann_file(role: str) -> str:
    """The file of one semantic role's approximate nearest-neighbour index (large corpora only)."""
    return f"vectors.{role}.ivf"


def damaged(folder: Path, detail: str) -> SnapshotError:
    """The one sentence a damaged snapshot is reported with."""
    return SnapshotError(f"the index snapshot {folder.name} is damaged ({detail}); run wikiqa reindex")


def checksum(path: Path) -> str:
    """The BLAKE2b checksum of the file's bytes, as the manifest records it."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb", buffering=0) as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def inventory(folder: Path, earlier: Iterable[Path] = ()) -> dict[str, FileRecord]:
    """Every file of ``folder`` but the manifest, by relative path, with its size and checksum:
    that recorded by one of the ``earlier`` snapshots for a file linked from it, else computed."""
    recorded = _recorded_checksums(earlier)
    files: dict[str, FileRecord] = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name != MANIFEST:
            stat = path.stat()
            known = recorded.get((stat.st_dev, stat.st_ino, stat.st_size))
            files[name] = FileRecord(stat.st_size, known or checksum(path))
    return files


def _recorded_checksums(folders: Iterable[Path]) -> dict[tuple[int, int, int], str]:
    """The checksums the manifests of ``folders`` record, by the (device, inode, size) of the
    file they were recorded for: a file of a new snapshot with the same identity is that file.
    A file whose size is no longer the recorded one is damaged, and left out."""
    found: dict[tuple[int, int, int], str] = {}
    for folder in folders:
        manifest = Manifest.read_if_any(folder)
        for name, record in manifest.files.items() if manifest is not None else ():
            try:
                stat = (folder / name).stat()
            except OSError:
                continue
            if stat.st_size == record.size:
                found[(stat.st_dev, stat.st_ino, record.size)] = record.blake2b
    return found


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One listed file of a snapshot: its size and the checksum of what was written."""

    size: int
    blake2b: str

    def damage(self, path: Path) -> str | None:
        """What is wrong with the file at ``path``, as the end of a sentence naming it; None if
        nothing that a load checks (the size; the checksum of a small file)."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return "is missing"
        except OSError as err:
            return f"cannot be read: {err.strerror or err}"
        if size != self.size:
            return f"holds {size:,} bytes, {self.size:,} were written"
        if size <= CHECKED_AT_LOAD_BYTES and checksum(path) != self.blake2b:
            return "does not hold what was written"
        return None

    def holds_what_was_written(self, path: Path) -> bool:
        """Whether every byte of the file is as written (read in full, whatever its size)."""
        try:
            return path.stat().st_size == self.size and checksum(path) == self.blake2b
        except OSError:
            return False


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a snapshot records of itself: the build's settings and counts, the entries its stages
    added, and every other file with its size and checksum. The only reader and writer of
    ``manifest.json``.

    ``semantic``, ``sentence_vectors`` and ``ann`` are the entries of an embedding stage, each
    role -> record (``{"model", "version", "dimensions", ...}`` for the first two, ``{"kind",
    "cells", "nprobe"}`` for the index); empty for a lexical snapshot. Keys of older versions
    (``engine``) are read past.
    """

    version: str
    built_at: str
    source_url: str
    fingerprint: str
    analyzer: dict[str, Any]
    bm25: dict[str, Any]
    articles: int
    passages: int
    vocabulary: int
    avgdl: float
    sentences: int = 0
    tokens: int = 0
    semantic: dict[str, dict[str, Any]] = field(default_factory=dict)
    sentence_vectors: dict[str, dict[str, Any]] = field(default_factory=dict)
    ann: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        """The manifest of the snapshot in ``folder``; :class:`SnapshotError` if there is none of
        this format, or it lacks what every reader needs."""
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise damaged(folder, f"{MANIFEST} is missing") from None
        except (OSError, ValueError) as err:
            raise damaged(folder, f"{MANIFEST} cannot be read: {err}") from None
        if not isinstance(data, dict):
            raise damaged(folder, f"{MANIFEST} is not a JSON object")
        if data.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError(
                f"the index snapshot {folder.name} was built by another version of wikiqa; "
                "run wikiqa reindex to rebuild it"
            )
        missing = [key for key in _REQUIRED if key not in data]
        if missing:
            raise damaged(folder, f"{MANIFEST} lacks {', '.join(missing)}")
        try:
            files = {
                str(name): FileRecord(int(r["bytes"]), str(r["blake2b"])) for name, r in data["files"].items()
            }
            entries = [data.get(key, {}) for key in _ENTRIES]
            if not all(isinstance(record, dict) for entry in entries for record in entry.values()):
                raise TypeError("a stage's entry is not a record by role")
            return cls(**{key: data[key] for key in _KEYS if key in data and key != "files"}, files=files)
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise damaged(folder, f"{MANIFEST} cannot be read: {err}") from None

    @classmethod
    def read_if_any(cls, folder: Path) -> Manifest | None:
        """The manifest of ``folder`` if it is a readable one of this format, else None: what a
        reindex asks of the snapshots it may take earlier work from, where anything unreadable is
        simply not taken."""
        try:
            return cls.read(folder)
        except SnapshotError:
            return None

    def write(self, folder: Path, earlier: Iterable[Path] = ()) -> Manifest:
        """Write this manifest with the inventory of the folder as it is now, durably; written
        last, it is what makes a folder a snapshot. ``earlier``: snapshots some of its files may be
        linked from. Returns the manifest as written."""
        written = replace(self, files=inventory(folder, earlier))
        data = {"format": SNAPSHOT_FORMAT, **asdict(written)}
        data["files"] = {name: {"bytes": r.size, "blake2b": r.blake2b} for name, r in written.files.items()}
        with open(folder / MANIFEST, "w", encoding="utf-8") as file:
            json.dump(data, file, ensure_ascii=False, indent=1)
            file.flush()
            os.fsync(file.fileno())
        return written

    @property
    def size_bytes(self) -> int:
        """The size of every listed file together."""
        return sum(record.size for record in self.files.values())

    def check_files(self, folder: Path) -> None:
        """Raise :func:`damaged` unless every listed file has its recorded size, and every small
        one its recorded checksum: what a load checks."""
        for name, record in self.files.items():
            problem = record.damage(folder / name)
            if problem is not None:
                raise damaged(folder, f"{name} {problem}")

    def intact(self, folder: Path, names: Iterable[str]) -> bool:
        """Whether each of these files is listed and passes the check a load makes: what a
        reindex asks of a file before it takes vectors or keys from it, so that a damaged one is
        computed again rather than carried on."""
        return all(name in self.files and self.files[name].damage(folder / name) is None for name in names)

    def verify(self, folder: Path, names: Iterable[str] | None = None) -> list[str]:
        """The listed files (or those of ``names``) whose size or checksum differs from what was
        written, each read in full; a name not listed counts as damaged."""
        return [
            name
            for name in (self.files if names is None else names)
            if name not in self.files or not self.files[name].holds_what_was_written(folder / name)
        ]


_KEYS = tuple(f.name for f in fields(Manifest))
_ENTRIES = ("semantic", "sentence_vectors", "ann")
# What a manifest must hold for a snapshot to be read at all.
_REQUIRED = (
    *(f.name for f in fields(Manifest) if f.default is MISSING and f.default_factory is MISSING),
    "files",
)
