"""What the bot did: the questions it answered and the 👍 / 👎 it got, in the store's database
(the tables and their queries are :mod:`retrieval.storage.journal`'s).

Writes never wait on the database in the event loop: they
are queued and a writer thread commits them in batches, so a slow or briefly unavailable database
costs journal rows, never answers. The writer wakes on a timer (a few times a second), not on
every record: waking a thread per question cost the busy bot a thread switch and a GIL hand-over
each time, and one commit per question. Readers (:meth:`Journal.stats`, :meth:`Journal.question`)
first wake the writer and let it catch up, so they see everything recorded before the call; they
are blocking and are run off the event loop.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from retrieval.lru import LruCache
from retrieval.search.evaluate import percentile
from retrieval.storage.database import describe_db_error
from retrieval.storage.journal import JournalTables, QuestionRecord, VoteRecord
from retrieval.storage.timeouts import DEFAULT_TIMEOUTS, Timeouts

if TYPE_CHECKING:
    from bot.report import Report

log = logging.getLogger(__name__)

LATENCY_WINDOW = 10_000  # /stats percentiles are over this many most recent questions
_CACHE_SIZE = 20_000
_BATCH = 500
WRITE_EVERY_SECONDS = 0.25  # how long a record may wait for the writer when nobody reads


@dataclass(frozen=True, slots=True)
class JournalStats:
    questions_today: int
    questions_total: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    thumbs_up: int
    thumbs_down: int


class Journal:
    """The bot's journal on ``url`` (usually the article store's database)."""

    def __init__(self, url: str, *, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> None:
        self.url = url
        self.timeouts = timeouts
        self._tables = JournalTables(url, timeouts=timeouts)
        self._queue: queue.Queue[QuestionRecord | VoteRecord | None] = queue.Queue()
        self._recent: LruCache[str, str] = LruCache(_CACHE_SIZE)  # ref -> question
        self._wake = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="wikiqa-journal", daemon=True)
        self._writer.start()

    # ----------------------------------------------------------------- called from the event loop
    def record_question(self, record: QuestionRecord) -> None:
        self._recent.put(record.ref, record.question)
        self._queue.put(record)

    def record_vote(self, ref: str, user_id: int, vote: int) -> None:
        self._queue.put(VoteRecord(ref, user_id, 1 if vote > 0 else -1, datetime.now(UTC)))

    def cached_question(self, ref: str) -> str | None:
        return self._recent.get(ref)

    # ----------------------------------------------------------------- blocking readers
    def flush(self) -> None:
        """Wait until everything queued so far is written (or given up on)."""
        self._wake.set()
        self._queue.join()

    def question(self, ref: str) -> str | None:
        """The question behind ``ref``: from memory, else from the database (another replica's)."""
        cached = self.cached_question(ref)
        if cached is not None:
            return cached
        self.flush()
        return self._tables.question(ref)

    def stats(self, *, now: datetime | None = None) -> JournalStats:
        self.flush()
        now = now or datetime.now(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        counts = self._tables.counts(since=midnight, latency_window=LATENCY_WINDOW)
        return JournalStats(
            questions_today=counts.questions_today,
            questions_total=counts.questions_total,
            latency_p50_ms=percentile(counts.latencies, 0.50),
            latency_p99_ms=percentile(counts.latencies, 0.99),
            thumbs_up=counts.thumbs_up,
            thumbs_down=counts.thumbs_down,
        )

    def report(self, since: datetime) -> Report:
        """The ``/report`` figures of the questions asked since ``since`` (``bot.report``)."""
        from bot.report import build_report

        self.flush()
        return build_report(self._tables.asked_since(since), since)

    def close(self) -> None:
        self._queue.put(None)
        self._wake.set()
        self._writer.join(timeout=10)
        self._tables.close()

    # ----------------------------------------------------------------- the writer thread
    def _write_loop(self) -> None:
        while True:
            self._wake.wait(WRITE_EVERY_SECONDS)
            self._wake.clear()
            batch: list[QuestionRecord | VoteRecord | None] = []
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            for start in range(0, len(batch), _BATCH):
                self._write_batch(batch[start : start + _BATCH])
            if any(item is None for item in batch):
                return

    def _write_batch(self, batch: list[QuestionRecord | VoteRecord | None]) -> None:
        try:
            items = [item for item in batch if item is not None]
            if items:
                self._write(items)
        except SQLAlchemyError as err:
            log.error(
                "journal: %d rows not written: %s",
                len(batch),
                describe_db_error(self.url, err, self.timeouts),
            )
        except Exception:
            log.exception("journal: %d rows not written", len(batch))
        finally:
            for _ in batch:
                self._queue.task_done()

    def _write(self, items: list[QuestionRecord | VoteRecord]) -> None:
        questions = [q for q in items if isinstance(q, QuestionRecord)]
        self._tables.write(questions, [v for v in items if isinstance(v, VoteRecord)])
