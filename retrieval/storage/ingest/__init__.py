"""Ingestion: articles from seed text files, SQL dumps, JSONL, folders of these, or a live table,
upserted into the :class:`~retrieval.storage.articles.ArticleStore`, one transaction per source.

A bad row stops its source, and that source's transaction rolls back, unless ``skip_bad`` is
set; then the row is listed in :attr:`IngestReport.skipped` and the rest is committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.errors import SourceError
from retrieval.storage.articles import ArticleStore, UpsertCounts, raise_bad_row
from retrieval.storage.database import safe_url
from retrieval.storage.ingest.live_table import BATCH, read_table
from retrieval.storage.ingest.rows import TABLE
from retrieval.storage.ingest.sources import expand_paths, read_path
from retrieval.storage.records import ArticleRecord

__all__ = ["IngestReport", "ingest_database", "ingest_paths", "read_path"]

Progress = Callable[[int], None]
_PROGRESS_STEP = 256


@dataclass
class IngestReport:
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    skipped: list[SourceError] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line: "3 new, 1 updated, 47 unchanged, 2 empty in 0.4 s" (plus skipped rows, if any)."""
        c = self.counts
        parts = [f"{c.new} new", f"{c.updated} updated", f"{c.unchanged} unchanged", f"{c.empty} empty"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return f"{', '.join(parts)} in {self.seconds:.1f} s"

    def add(self, counts: UpsertCounts) -> None:
        for name in ("new", "updated", "unchanged", "empty"):
            setattr(self.counts, name, getattr(self.counts, name) + getattr(counts, name))
        self.counts.skipped = len(self.skipped)


def ingest_paths(
    store: ArticleStore,
    paths: Sequence[Path],
    *,
    skip_bad: bool = False,
    on_progress: Progress | None = None,
) -> IngestReport:
    """Ingest files and folders (recursively), one transaction per file, in the order given.

    Every path is checked before anything is written; a failing file raises after the files
    before it were committed, and nothing of the failing file is. With ``skip_bad``, bad rows are
    skipped, and so is a file that cannot be read past some point (binary, truncated, not SQL):
    each is listed in the report, and the rest is committed.
    """
    started = time.perf_counter()
    report = IngestReport()
    files = expand_paths([Path(p) for p in paths])
    on_bad = report.skipped.append if skip_bad else raise_bad_row
    for path in files:
        listed = len(report.skipped)
        try:
            _upsert(store, read_path(path, on_bad), str(path), on_bad, on_progress, report)
        except SourceError as err:
            if not skip_bad:
                raise
            del report.skipped[listed:]  # the whole file is rolled back: list it once, not its rows
            report.skipped.append(err)
            report.counts.skipped = len(report.skipped)
    report.seconds = time.perf_counter() - started
    return report


def ingest_database(
    store: ArticleStore,
    url: str,
    *,
    table: str = TABLE,
    skip_bad: bool = False,
    on_progress: Progress | None = None,
    batch_size: int = BATCH,
) -> IngestReport:
    """Ingest a live table in one transaction, reading it ``batch_size`` rows at a time."""
    started = time.perf_counter()
    report = IngestReport()
    on_bad = report.skipped.append if skip_bad else raise_bad_row
    records = read_table(url, on_bad, table_name=table, batch_size=batch_size, timeouts=store.timeouts)
    _upsert(store, records, f"{safe_url(url)} table {table}", on_bad, on_progress, report)
    report.seconds = time.perf_counter() - started
    return report


def _upsert(
    store: ArticleStore,
    records: Iterable[ArticleRecord],
    source: str,
    on_bad: Callable[[SourceError], None],
    on_progress: Progress | None,
    report: IngestReport,
) -> None:
    """One source in one transaction, reporting progress every few hundred articles."""
    if on_progress is None:
        report.add(store.upsert(records, source=source, on_bad=on_bad))
        return
    pending = 0

    def tick(_record: ArticleRecord) -> None:
        nonlocal pending
        pending += 1
        if pending == _PROGRESS_STEP:
            on_progress(pending)
            pending = 0

    counts = store.upsert(records, source=source, on_bad=on_bad, on_record=tick)
    if pending:
        on_progress(pending)
    report.add(counts)
