"""A reindex: every article of the store, read in one transaction, into a new snapshot made live.

Analysis runs batch by batch, in this process for small corpora and in worker processes for
large ones; the writer appends each batch as it comes, so memory stays bounded however large the
store. Nothing is visible until the finished folder is swapped in (:mod:`retrieval.index.publish`),
so a failure at any point leaves the live snapshot as it was.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from retrieval.errors import SnapshotError
from retrieval.index.analyze import (
    MAX_ARTICLE_CHARS,
    AnalyzedBatch,
    Row,
    WordTable,
    analyze_batch,
    analyze_in_worker,
    article_batches,
    bounded_body,
    init_worker,
)
from retrieval.index.bm25 import BM25Params
from retrieval.index.lock import BuildLock
from retrieval.index.publish import (
    BUILD_PREFIX,
    LOCK_FILE,
    Warn,
    new_version,
    point_current,
    remove_abandoned_builds,
    remove_old_snapshots,
    versions,
)
from retrieval.index.reader import Snapshot, SnapshotInfo
from retrieval.index.writer import SnapshotWriter
from retrieval.text.analysis import Analyzer

if TYPE_CHECKING:
    from concurrent.futures import Future

    from retrieval.storage.articles import ArticleStore, StoredArticle

log = logging.getLogger(__name__)

NOTHING_TO_INDEX = "nothing to index: the store has no articles with text"
# Articles per analysis batch, and the corpus size from which worker processes pay for themselves.
BATCH_ARTICLES = 256
PARALLEL_FROM_ARTICLES = 20_000

Progress = Callable[[int, int], None]  # (articles just analyzed, articles in the store)


class BuildStage(Protocol):
    """Work a reindex adds to the snapshot once its passages are written, such as embedding them
    (``retrieval.semantic.embed.EmbeddingStage``). The index knows nothing of what a stage does:
    it is handed in by whoever starts the build."""

    def run(self, folder: Path, snapshots_dir: Path, earlier: tuple[Path, ...]) -> dict[str, Any]:
        """Add files to the build in ``folder``; the :class:`~retrieval.index.format.Manifest`
        fields that record them (an embedding stage's ``semantic``, ``sentence_vectors``, ``ann``).
        ``earlier``: the snapshots kept, newest first, whose work may be reused (their files
        linked, not copied)."""
        ...

    def published(self, snapshots_dir: Path) -> None:
        """The snapshot is live: drop whatever was kept to resume an interrupted build."""
        ...


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """How a reindex analyzes, scores and reports, where the defaults are not wanted.

    ``analyzer`` and ``params`` are saved with the snapshot. ``workers`` analysis processes run
    beside the builder (default: one per CPU for corpora of 20,000 articles or more, none below).
    ``on_progress(n, total)`` is called as each batch of ``n`` of the store's ``total`` articles
    is done; ``warn`` hears about articles indexed only in part.
    """

    analyzer: Analyzer = field(default_factory=Analyzer)
    params: BM25Params = field(default_factory=BM25Params)
    workers: int | None = None
    on_progress: Progress | None = None
    warn: Warn = log.warning


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one build runs: its options, with the number of workers settled for its store."""

    options: BuildOptions
    source_url: str
    workers: int
    articles: int
    stages: tuple[BuildStage, ...]


def build_snapshot(
    store: ArticleStore,
    snapshots_dir: Path,
    *,
    source_url: str,
    options: BuildOptions | None = None,
    stages: tuple[BuildStage, ...] = (),
) -> SnapshotInfo:
    """Build a snapshot from every article in ``store`` and make it the live one.

    ``source_url`` (with ``{article_id}``) links each passage to its article; ``options`` (default:
    :class:`BuildOptions`'s) say how it is analyzed and whom it reports to. ``stages`` run once the
    passages are written and the store is closed (the semantic stage embeds them). Raises
    :class:`SnapshotError` when another build holds the lock, the store has nothing to index or
    the snapshot cannot be written; the live snapshot is then left as it was.
    """
    options = options or BuildOptions()
    try:
        snapshots_dir.mkdir(parents=True, exist_ok=True)
        with BuildLock(snapshots_dir / LOCK_FILE):
            remove_abandoned_builds(snapshots_dir)
            build_dir = snapshots_dir / f"{BUILD_PREFIX}{uuid.uuid4().hex[:12]}"
            with _removed_on_failure(build_dir):
                with store.reading() as read:
                    articles, empty = read.counts()
                    if articles - empty <= 0:
                        raise SnapshotError(NOTHING_TO_INDEX)
                    workers = options.workers
                    if workers is None:
                        workers = (os.cpu_count() or 1) if articles >= PARALLEL_FROM_ARTICLES else 0
                    plan = _Plan(options, source_url, workers, articles, tuple(stages))
                    written = _write_passages(build_dir, read.articles(), plan)
                # The store's read transaction ends before the embedding, which may take hours: a
                # transaction held that long keeps every row version the database changes meanwhile.
                version = _complete(build_dir, snapshots_dir, written, plan)
            point_current(snapshots_dir, version)
            remove_old_snapshots(snapshots_dir)
            for stage in plan.stages:
                stage.published(snapshots_dir)
    except OSError as err:
        raise SnapshotError(
            f"cannot write the index snapshot in {snapshots_dir} ({err.strerror or err}); "
            "the live snapshot is unchanged"
        ) from None
    return Snapshot(snapshots_dir / version).info


@contextmanager
def _removed_on_failure(build_dir: Path) -> Iterator[None]:
    """A hidden build folder, removed on any failure: nothing half-built is ever left behind."""
    build_dir.mkdir()
    try:
        yield
    except BaseException:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise


@dataclass(frozen=True, slots=True)
class _Written:
    """The passages and BM25 columns of a build, written; the rest waits for the store to close."""

    writer: SnapshotWriter
    fingerprint: str
    built_at: datetime


def _write_passages(build_dir: Path, articles: Iterable[StoredArticle], plan: _Plan) -> _Written:
    built_at = datetime.now(UTC)
    writer = SnapshotWriter(build_dir)
    digest = hashlib.blake2b(digest_size=16)
    options = plan.options
    for batch, consumed in _analyzed(
        _rows(articles, digest.update, options.warn), options.analyzer, plan.workers
    ):
        writer.add(batch)
        if options.on_progress is not None:
            options.on_progress(consumed, plan.articles)
    if writer.passages == 0:
        raise SnapshotError(NOTHING_TO_INDEX)
    writer.close_columns()
    return _Written(writer, digest.hexdigest(), built_at)


def _complete(build_dir: Path, snapshots_dir: Path, written: _Written, plan: _Plan) -> str:
    """Run the stages, write the index and manifest, and rename the folder to its version."""
    earlier = tuple(snapshots_dir / name for name in reversed(versions(snapshots_dir)))
    entries: dict[str, Any] = {}
    for stage in plan.stages:
        entries.update(stage.run(build_dir, snapshots_dir, earlier))
    version = new_version(snapshots_dir, written.built_at, written.fingerprint)
    analyzer, params = plan.options.analyzer, plan.options.params
    written.writer.finish(
        params,
        {
            "version": version,
            "built_at": written.built_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source_url": plan.source_url,
            "fingerprint": written.fingerprint,
            "analyzer": analyzer.to_dict(),
            "bm25": params.to_dict(),
            **entries,
        },
        earlier,
    )
    os.rename(build_dir, snapshots_dir / version)
    return version


def _rows(
    articles: Iterable[StoredArticle], fingerprint: Callable[[bytes], None], warn: Warn
) -> Iterator[Row]:
    """(article_id, title, body) of every article; ``fingerprint`` is fed each one's id and content
    hash."""
    for article in articles:
        fingerprint(article.article_id.encode("utf-8", "surrogatepass") + b"\x00")
        fingerprint(article.content_hash.encode() + b"\x00")
        body = article.article or ""
        if len(body) > MAX_ARTICLE_CHARS:
            body = bounded_body(body)
            warn(
                f"article {article.article_id!r} is {len(article.article or ''):,} characters long; "
                f"only its first {len(body):,} are indexed"
            )
        yield article.article_id, article.title or "", body


def _analyzed(rows: Iterator[Row], analyzer: Analyzer, workers: int) -> Iterator[tuple[AnalyzedBatch, int]]:
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
