"""Index snapshots: built beside the live one, swapped in atomically, loaded through mmap.

Layout of ``WIKIQA_HOME/snapshots``::

    current -> 20261127T160501Z-1a2b3c4d     the live snapshot (a symlink, replaced atomically)
    20261127T160501Z-1a2b3c4d/               a complete, self-contained snapshot
    .build-<random>/                          a build in progress (or abandoned by a crash)
    reindex.lock                              flock'ed by the running build

A build writes into its own hidden folder and becomes visible only through two renames: the folder
to its final name, then a fresh symlink over ``current`` (``os.replace``, atomic on POSIX). A
build killed at any point therefore leaves ``current`` pointing at the previous, untouched
snapshot; the next build deletes the leftovers. Readers never see a half-written snapshot, and a
process that has a snapshot loaded keeps its mmaps valid even after the files are deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import numpy as np

from retrieval.errors import SnapshotError
from retrieval.index.arrays import OFFSET_DTYPE, BlobReader, StringTable, fsync_dir, map_array
from retrieval.index.bm25 import Bm25Index, BM25Params, RankBm25Index
from retrieval.index.lock import BuildLock
from retrieval.index.spelling import SpellingIndex
from retrieval.index.writer import (
    FILES,
    SNAPSHOT_FORMAT,
    AnalyzedBatch,
    SnapshotWriter,
    WordTable,
    analyze_batch,
    analyze_in_worker,
    article_batches,
    init_worker,
)
from retrieval.text.analysis import Analyzer

if TYPE_CHECKING:
    from concurrent.futures import Future

    from retrieval.storage.articles import ArticleStore

log = logging.getLogger(__name__)

ENGINES = ("bm25s", "rank-bm25")
CURRENT = "current"
LOCK_FILE = "reindex.lock"
BUILD_PREFIX = ".build-"
KEEP_SNAPSHOTS = 2  # the live one and the previous one
NOTHING_TO_INDEX = "nothing to index: the store has no articles with text"
# Articles per analysis batch, and the corpus size from which worker processes pay for themselves.
BATCH_ARTICLES = 256
PARALLEL_FROM_ARTICLES = 20_000
# Wiki-style paths stay readable: only characters that would break a URL are escaped.
_LINK_SAFE = "/:()_,!*'-.~@$;"
_TOKEN_BYTES = np.dtype(np.int32).itemsize
# Term lookups remembered per snapshot before the memory is cleared (a few tens of MB at most).
LOOKUP_CACHE = 200_000


@dataclass(frozen=True)
class SnapshotInfo:
    version: str
    path: Path
    built_at: str
    engine: str
    articles: int
    passages: int
    vocabulary: int
    size_bytes: int
    fingerprint: str


@dataclass(frozen=True, slots=True)
class StoredPassage:
    """A passage as stored in the snapshot; ``sentences`` are spans relative to ``text``."""

    passage_id: int
    article_id: str
    title: str
    link: str
    text: str
    start: int
    end: int
    ordinal: int
    sentences: tuple[tuple[int, int], ...]


def article_link(source_url: str, article_id: str) -> str:
    """The article's source page: ``source_url`` with ``{article_id}`` filled in, URL-escaped."""
    return source_url.replace("{article_id}", quote(article_id, safe=_LINK_SAFE))


class TermVocabulary(Mapping[str, int]):
    """term -> term id, looked up by binary search over the stored terms (nothing to load up front).

    A million-term dict takes ~0.5 s to build from disk; a question needs a handful of lookups.
    Each lookup is remembered (known and unknown terms alike): a binary search reads a stored
    term per probe, ~20 probes costing tens of microseconds, and every answer looks the same
    question terms up several times (search, coverage, spelling), as later questions reuse them.
    """

    def __init__(self, terms: StringTable, sorted_ids: np.ndarray) -> None:
        self._terms = terms
        # A plain array: indexing an ``np.memmap`` goes through Python code on every probe.
        self._sorted = np.asarray(sorted_ids)
        self._known: dict[str, int | None] = {}

    def get(self, term: str, default: int | None = None) -> int | None:
        try:
            term_id = self._known[term]
        except KeyError:
            term_id = self._search(term)
            if len(self._known) >= LOOKUP_CACHE:
                self._known.clear()
            self._known[term] = term_id
        return default if term_id is None else term_id

    def __getitem__(self, term: str) -> int:
        term_id = self.get(term)
        if term_id is None:
            raise KeyError(term)
        return term_id

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.get(term) is not None

    def _search(self, term: str) -> int | None:
        key = term.encode("utf-8", "surrogatepass")
        terms, order = self._terms, self._sorted
        lo, hi = 0, len(order)
        while lo < hi:
            mid = (lo + hi) // 2
            if terms.raw(int(order[mid])) < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(order) and terms.raw(int(order[lo])) == key:
            return int(order[lo])
        return None

    def __iter__(self) -> Iterator[str]:
        return (self._terms[i] for i in range(len(self._terms)))

    def __len__(self) -> int:
        return len(self._terms)

    def term(self, term_id: int) -> str:
        return self._terms[term_id]


class Snapshot:
    """A loaded snapshot: first-stage BM25 and everything needed to show and rerank passages."""

    def __init__(self, folder: Path, *, engine: str | None = None) -> None:
        try:
            manifest = json.loads((folder / FILES["manifest"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise SnapshotError(
                f"snapshot {folder} is damaged or incomplete ({err}); run wikiqa reindex"
            ) from None
        if manifest.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError(f"snapshot {folder} has an unknown format; run wikiqa reindex to rebuild it")
        self.manifest = manifest
        self.folder = folder
        self.analyzer = Analyzer.from_dict(manifest["analyzer"])
        self.params = BM25Params.from_dict(manifest["bm25"])
        self.source_url: str = manifest["source_url"]
        self.avgdl: float = manifest["avgdl"]
        engine = engine or manifest["engine"]
        if engine not in ENGINES:
            raise SnapshotError(f"unknown search engine '{engine}' (choose {' or '.join(ENGINES)})")
        self.info = SnapshotInfo(
            version=manifest["version"],
            path=folder,
            built_at=manifest["built_at"],
            engine=engine,
            articles=manifest["articles"],
            passages=manifest["passages"],
            vocabulary=manifest["vocabulary"],
            size_bytes=_folder_size(folder),
            fingerprint=manifest["fingerprint"],
        )
        try:
            self._open_arrays(folder)
            self._engine = self._open_engine(folder, engine)
        except (OSError, ValueError) as err:
            raise SnapshotError(
                f"snapshot {folder} is damaged or incomplete ({err}); run wikiqa reindex"
            ) from None

    def _open_arrays(self, folder: Path) -> None:
        path = folder.joinpath
        self._texts = StringTable(path(FILES["texts"]), path(FILES["text_offsets"]))
        self._article_ids = StringTable(path(FILES["article_ids"]), path(FILES["article_id_offsets"]))
        self._titles = StringTable(path(FILES["titles"]), path(FILES["title_offsets"]))
        self._meta = map_array(path(FILES["meta"]), np.int32).reshape(-1, 4)
        self._sentences = map_array(path(FILES["sentences"]), np.int32).reshape(-1, 2)
        self._sentence_tokens = map_array(path(FILES["sentence_tokens"]), np.int32)
        self._sentence_offsets = map_array(path(FILES["sentence_offsets"]), OFFSET_DTYPE)
        self._tokens = BlobReader(path(FILES["tokens"]))
        self._token_offsets = map_array(path(FILES["token_offsets"]), OFFSET_DTYPE)
        self._doc_len = np.load(path(FILES["doc_len"]), mmap_mode="r")
        self._idf = np.load(path(FILES["idf"]), mmap_mode="r")
        self.vocab = TermVocabulary(
            StringTable(path(FILES["terms"]), path(FILES["term_offsets"])),
            np.load(path(FILES["terms_sorted"]), mmap_mode="r"),
        )
        self._words = StringTable(path(FILES["words"]), path(FILES["word_offsets"]))
        self._word_counts = np.load(path(FILES["word_counts"]), mmap_mode="r")
        if len(self._meta) != self.info.passages:
            raise ValueError(f"{len(self._meta)} passages stored, manifest says {self.info.passages}")

    def _open_engine(self, folder: Path, engine: str) -> Bm25Index | RankBm25Index:
        if engine == "bm25s":
            return Bm25Index.load(folder / FILES["bm25s"], self.info.passages)
        if not (folder / FILES["bag_nnz"]).exists():
            raise SnapshotError(
                f"snapshot {self.info.version} was built for bm25s only; "
                "run wikiqa reindex --engine rank-bm25 to serve with rank-bm25"
            )
        terms = map_array(folder / FILES["bag_terms"], np.int32)
        tfs = map_array(folder / FILES["bag_tfs"], np.uint16)
        ends = np.cumsum(np.load(folder / FILES["bag_nnz"]))
        bags = []
        for start, end in zip(np.concatenate(([0], ends[:-1])).tolist(), ends.tolist(), strict=True):
            bags.append(np.repeat(terms[start:end], tfs[start:end]).tolist())
        return RankBm25Index(bags, np.asarray(self._idf), self.params)

    # -- first stage -------------------------------------------------------------------------

    def first_stage(self, term_ids: Sequence[int] | np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, BM25 scores) of the ``n`` best passages, best first."""
        return self._engine.top(term_ids, n)

    def accelerate(self) -> bool:
        """Use the compiled first-stage kernel (numba) if installed; for long-running processes."""
        return isinstance(self._engine, Bm25Index) and self._engine.accelerate()

    def term_ids(self, terms: Sequence[str]) -> list[int]:
        """Ids of the analyzed ``terms`` the corpus knows, repeats kept (unknown ones dropped)."""
        vocab = self.vocab
        return [i for i in (vocab.get(t) for t in terms) if i is not None]

    # -- passages ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.info.passages

    def passage(self, pid: int) -> StoredPassage:
        article, ordinal, start, end = (int(v) for v in self._meta[pid])
        article_id = self._article_ids[article]
        return StoredPassage(
            passage_id=int(pid),
            article_id=article_id,
            title=self._titles[article],
            link=article_link(self.source_url, article_id),
            text=self._texts[pid],
            start=start,
            end=end,
            ordinal=ordinal,
            sentences=self.sentence_spans(pid),
        )

    def sentence_spans(self, pid: int) -> tuple[tuple[int, int], ...]:
        """``(start, end)`` of each sentence of the passage, relative to its text."""
        first, last = self._sentence_offsets[pid], self._sentence_offsets[pid + 1]
        return tuple(map(tuple, self._sentences[first:last].tolist()))

    def passage_tokens(self, pid: int) -> np.ndarray:
        """Term ids of ``analyzer.terms(passage.text)``, in order."""
        start, end = self._token_offsets[pid], self._token_offsets[pid + 1]
        return np.frombuffer(self._tokens.read(start * _TOKEN_BYTES, end * _TOKEN_BYTES), np.int32)

    def passages_tokens(self, pids: np.ndarray) -> dict[int, np.ndarray]:
        """:meth:`passage_tokens` of many passages, each run of consecutive ids in one read.

        A search reads its candidates and their article neighbours, so most runs hold three
        passages: one ``pread`` per run instead of one per passage. The offset arithmetic is done
        for all runs at once, and the runs' bytes are joined into one array that each passage's
        tokens are a slice of.
        """
        unique = np.unique(np.asarray(pids, dtype=np.int64))
        if len(unique) == 0:
            return {}
        starts = self._token_offsets[unique]
        ends = self._token_offsets[unique + 1]
        first = np.flatnonzero(np.diff(unique, prepend=unique[0] - 2) != 1)
        last = np.append(first[1:], len(unique)) - 1
        run_starts = (starts[first] * _TOKEN_BYTES).tolist()
        run_ends = (ends[last] * _TOKEN_BYTES).tolist()
        runs = b"".join(self._tokens.read(a, b) for a, b in zip(run_starts, run_ends, strict=True))
        tokens = np.frombuffer(runs, np.int32)
        cuts = np.concatenate(([0], np.cumsum(ends - starts))).tolist()
        return {pid: tokens[cuts[i] : cuts[i + 1]] for i, pid in enumerate(unique.tolist())}

    def sentence_token_starts(self, pid: int) -> np.ndarray:
        """For each sentence of the passage, the index in :meth:`passage_tokens` where it starts."""
        return self._sentence_tokens[self._sentence_offsets[pid] : self._sentence_offsets[pid + 1]]

    def article_index(self, pid: int) -> int:
        """Dense article number of a passage (for capping hits per article without decoding ids)."""
        return int(self._meta[pid, 0])

    def article_indexes(self, pids: np.ndarray) -> np.ndarray:
        """:meth:`article_index` of each of ``pids``."""
        return np.asarray(self._meta[:, 0][np.asarray(pids, dtype=np.int64)], dtype=np.int64)

    def passage_bounds(self, pids: np.ndarray) -> np.ndarray:
        """``(article index, start, end)`` rows of ``pids``: where each passage lies in its
        article, for telling overlapping passages apart without decoding them."""
        return np.asarray(self._meta[np.asarray(pids, dtype=np.int64)][:, [0, 2, 3]], dtype=np.int64)

    def text(self, pid: int) -> str:
        """The passage's text alone."""
        return self._texts[pid]

    def title(self, pid: int) -> str:
        """The passage's article title, without decoding the rest of the passage."""
        return self._titles[int(self._meta[pid, 0])]

    # -- scoring statistics ------------------------------------------------------------------

    def idf(self) -> np.ndarray:
        """idf per term id, as used in the index."""
        return self._idf

    def doc_lengths(self) -> np.ndarray:
        """Length of each passage's BM25 bag (its terms plus its title's), as used in the index."""
        return self._doc_len

    @cached_property
    def words(self) -> dict[str, int]:
        """Surface words of the corpus (case-folded, stop words dropped) -> occurrences."""
        counts = self._word_counts.tolist()
        return {self._words[i]: counts[i] for i in range(len(self._words))}

    @cached_property
    def spelling(self) -> SpellingIndex:
        """The "did you mean" index of the corpus's words, built with the snapshot."""
        return SpellingIndex(self.folder)


def _folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


# -- finding and loading -------------------------------------------------------------------------


def current_version(snapshots_dir: Path) -> str | None:
    """Name of the live snapshot, or None. One ``readlink``: cheap enough to call per question."""
    try:
        return os.readlink(snapshots_dir / CURRENT)
    except (FileNotFoundError, NotADirectoryError):
        return None


def load_snapshot(snapshots_dir: Path, *, engine: str | None = None) -> Snapshot:
    """The live snapshot, served by ``engine`` (default: the engine it was built for)."""
    version = current_version(snapshots_dir)
    if version is None:
        raise SnapshotError(f"there is no index snapshot in {snapshots_dir} yet; run wikiqa reindex")
    return Snapshot(snapshots_dir / version, engine=engine)


class LiveSnapshot:
    """The live snapshot for a long-running process, following reindexes without a restart.

    :meth:`current` costs one ``readlink`` when nothing changed; when ``current`` points elsewhere
    it loads the new snapshot once (other threads keep using the old one meanwhile). Questions
    already holding the old :class:`Snapshot` finish on it. With ``accelerate`` (the default) each
    snapshot is loaded with the compiled first-stage kernel when numba is installed.
    """

    def __init__(self, snapshots_dir: Path, *, engine: str | None = None, accelerate: bool = True) -> None:
        self.snapshots_dir = snapshots_dir
        self.engine = engine
        self.accelerate = accelerate
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._version: str | None = None

    def current(self) -> Snapshot:
        version = current_version(self.snapshots_dir)
        snapshot = self._snapshot
        if snapshot is not None and (version == self._version or version is None):
            return snapshot
        with self._lock:
            if self._snapshot is None or (version is not None and version != self._version):
                self._reload(version)
            assert self._snapshot is not None
            return self._snapshot

    def _reload(self, version: str | None) -> None:
        if version is None:
            raise SnapshotError(f"there is no index snapshot in {self.snapshots_dir} yet; run wikiqa reindex")
        try:
            snapshot = Snapshot(self.snapshots_dir / version, engine=self.engine)
        except SnapshotError:
            if self._snapshot is None:
                raise
            log.exception("could not load snapshot %s; still serving %s", version, self._version)
            return
        if self.accelerate:
            snapshot.accelerate()
        self._snapshot, self._version = snapshot, version


# -- building ------------------------------------------------------------------------------------


def build_snapshot(
    store: ArticleStore,
    snapshots_dir: Path,
    *,
    source_url: str,
    analyzer: Analyzer | None = None,
    params: BM25Params | None = None,
    engine: str = "bm25s",
    on_progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> SnapshotInfo:
    """Build a snapshot from every article in ``store`` and make it the live one.

    ``on_progress(n)`` is called as each batch of ``n`` articles is done. ``workers`` analysis
    processes (default: one per CPU for corpora of 20,000 articles or more, none below) run
    beside this one. Raises :class:`SnapshotError` when another build holds the lock or the store
    has nothing to index; in both cases the live snapshot is left as it was.
    """
    if engine not in ENGINES:
        raise SnapshotError(f"unknown search engine '{engine}' (choose {' or '.join(ENGINES)})")
    analyzer = analyzer or Analyzer()
    params = params or BM25Params()
    snapshots_dir.mkdir(parents=True, exist_ok=True)
    with BuildLock(snapshots_dir / LOCK_FILE):
        _remove_abandoned_builds(snapshots_dir)
        articles, empty = store.counts()
        if articles - empty <= 0:
            raise SnapshotError(NOTHING_TO_INDEX)
        if workers is None:
            workers = (os.cpu_count() or 1) if articles >= PARALLEL_FROM_ARTICLES else 0
        build_dir = snapshots_dir / f"{BUILD_PREFIX}{uuid.uuid4().hex[:12]}"
        build_dir.mkdir()
        try:
            version = _build_into(
                build_dir, store, analyzer, params, engine, source_url, on_progress, workers, snapshots_dir
            )
        except BaseException:
            shutil.rmtree(build_dir, ignore_errors=True)
            raise
        _point_current(snapshots_dir, version)
        _remove_old_snapshots(snapshots_dir)
    return Snapshot(snapshots_dir / version, engine=engine).info


def _build_into(
    build_dir: Path,
    store: ArticleStore,
    analyzer: Analyzer,
    params: BM25Params,
    engine: str,
    source_url: str,
    on_progress: Callable[[int], None] | None,
    workers: int,
    snapshots_dir: Path,
) -> str:
    built_at = datetime.now(UTC)
    writer = SnapshotWriter(build_dir, keep_bags=engine == "rank-bm25")
    digest = hashlib.blake2b(digest_size=16)
    rows = _rows(store, digest)
    for batch, consumed in _analyzed(rows, analyzer, workers):
        writer.add(batch)
        if on_progress is not None:
            on_progress(consumed)
    if writer.passages == 0:
        raise SnapshotError(NOTHING_TO_INDEX)
    fingerprint = digest.hexdigest()
    version = _new_version(snapshots_dir, built_at, fingerprint)
    writer.finish(
        params,
        {
            "version": version,
            "built_at": built_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "engine": engine,
            "source_url": source_url,
            "fingerprint": fingerprint,
            "analyzer": analyzer.to_dict(),
            "bm25": params.to_dict(),
        },
    )
    os.rename(build_dir, snapshots_dir / version)
    fsync_dir(snapshots_dir)
    return version


def _rows(store: ArticleStore, digest: hashlib._Hash) -> Iterator[tuple[str, str, str]]:
    """(article_id, title, body) of every article; the fingerprint covers ids and content hashes."""
    for article in store.iter_articles():
        digest.update(article.article_id.encode("utf-8", "surrogatepass") + b"\x00")
        digest.update(article.content_hash.encode() + b"\x00")
        yield article.article_id, article.title or "", article.article or ""


def _analyzed(
    rows: Iterator[tuple[str, str, str]], analyzer: Analyzer, workers: int
) -> Iterator[tuple[AnalyzedBatch, int]]:
    """Analyzed batches in store order, with the number of articles each consumed."""
    batches = article_batches(rows, BATCH_ARTICLES)
    if workers <= 0:
        table = WordTable(analyzer)
        for batch in batches:
            yield analyze_batch(batch, table), len(batch)
        return
    # Imported here: a process that only answers questions should not pay for multiprocessing.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # "spawn": workers must not inherit the lock's file descriptor (a fork would keep the lock
    # held by orphaned workers after the builder is killed) nor the database connections.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=init_worker, initargs=(analyzer.to_dict(), os.getpid())
    ) as pool:
        pending: list[tuple[Future[AnalyzedBatch], int]] = []
        for batch in batches:
            pending.append((pool.submit(analyze_in_worker, batch), len(batch)))
            if len(pending) > 2 * workers:
                future, consumed = pending.pop(0)
                yield future.result(), consumed
        for future, consumed in pending:
            yield future.result(), consumed


def _new_version(snapshots_dir: Path, built_at: datetime, fingerprint: str) -> str:
    base = f"{built_at:%Y%m%dT%H%M%S.%fZ}-{fingerprint[:8]}"
    version, n = base, 1
    while (snapshots_dir / version).exists():
        n += 1
        version = f"{base}-{n}"
    return version


def _point_current(snapshots_dir: Path, version: str) -> None:
    """Swap ``current`` to ``version`` in one atomic rename of a fresh symlink."""
    temporary = snapshots_dir / f".{CURRENT}-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    os.symlink(version, temporary)
    os.replace(temporary, snapshots_dir / CURRENT)
    fsync_dir(snapshots_dir)


def _remove_abandoned_builds(snapshots_dir: Path) -> None:
    """Folders of builds that died mid-way (only called while holding the lock)."""
    for child in snapshots_dir.iterdir():
        if child.name.startswith(BUILD_PREFIX) and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        elif child.name.startswith(f".{CURRENT}-") and child.is_symlink():
            child.unlink(missing_ok=True)


def _remove_old_snapshots(snapshots_dir: Path) -> None:
    """Keep the live snapshot and the one before it; processes still serving older ones keep
    their mmaps (deleted files live on until unmapped)."""
    live = current_version(snapshots_dir)
    versions = sorted(
        c.name
        for c in snapshots_dir.iterdir()
        if c.is_dir() and not c.name.startswith(".") and not c.is_symlink()
    )
    keep = {live, *versions[-KEEP_SNAPSHOTS:]}
    for name in versions:
        if name not in keep:
            shutil.rmtree(snapshots_dir / name, ignore_errors=True)
