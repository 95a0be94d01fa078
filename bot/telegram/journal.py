"""What the bot did: the questions it answered and the 👍 / 👎 it got, in the store's database.

The tables (``bot_question``, ``bot_feedback``) have their own metadata, separate from the article
store's, and are created on first use. Writes never wait on the database in the event loop: they
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
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Engine,
    Float,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from retrieval.storage.articles import describe_db_error, open_engine

log = logging.getLogger(__name__)

_MYSQL_TABLE_ARGS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mariadb_engine": "InnoDB",
    "mariadb_charset": "utf8mb4",
}
MAX_STORED_QUESTION = 4000
LATENCY_WINDOW = 10_000  # /stats percentiles are over this many most recent questions
_CACHE_SIZE = 20_000
_BATCH = 500
WRITE_EVERY_SECONDS = 0.25  # how long a record may wait for the writer when nobody reads


class JournalBase(DeclarativeBase):
    pass


class AskedQuestion(JournalBase):
    """One question answered (its first page): who asked, what they were shown, how fast."""

    __tablename__ = "bot_question"
    __table_args__ = _MYSQL_TABLE_ARGS

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    question: Mapped[str] = mapped_column(Text, nullable=False)
    snapshot_version: Mapped[str] = mapped_column(String(64), nullable=False)
    answer_shown: Mapped[str | None] = mapped_column(Text, nullable=True)
    quotes: Mapped[int] = mapped_column(Integer, nullable=False)
    no_match: Mapped[bool] = mapped_column(Boolean, nullable=False)
    latency_ms: Mapped[float] = mapped_column(Float, nullable=False)


class Feedback(JournalBase):
    """A user's latest vote on an answer (+1 or -1); voting again replaces it."""

    __tablename__ = "bot_feedback"
    __table_args__ = (UniqueConstraint("question_ref", "user_id"), _MYSQL_TABLE_ARGS)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question_ref: Mapped[str] = mapped_column(String(16), nullable=False)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    vote: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    voted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


QUESTIONS = AskedQuestion.__table__
FEEDBACK = Feedback.__table__


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    ref: str
    chat_id: int
    user_id: int
    question: str
    snapshot_version: str
    answer_shown: str | None
    quotes: int
    no_match: bool
    latency_ms: float
    asked_at: datetime


@dataclass(frozen=True, slots=True)
class VoteRecord:
    ref: str
    user_id: int
    vote: int
    voted_at: datetime


@dataclass(frozen=True, slots=True)
class JournalStats:
    questions_today: int
    questions_total: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    thumbs_up: int
    thumbs_down: int


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-quantile (0..1) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class Journal:
    """The bot's journal on ``url`` (usually the article store's database)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine = open_engine(url)
        self._schema_ready = False
        self._queue: queue.Queue[QuestionRecord | VoteRecord | None] = queue.Queue()
        self._recent: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="wikiqa-journal", daemon=True)
        self._writer.start()

    # ----------------------------------------------------------------- called from the event loop
    def record_question(self, record: QuestionRecord) -> None:
        with self._lock:
            self._recent[record.ref] = record.question
            if len(self._recent) > _CACHE_SIZE:
                self._recent.popitem(last=False)
        self._queue.put(record)

    def record_vote(self, ref: str, user_id: int, vote: int) -> None:
        self._queue.put(VoteRecord(ref, user_id, 1 if vote > 0 else -1, datetime.now(UTC)))

    def cached_question(self, ref: str) -> str | None:
        with self._lock:
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
        self._ensure_schema()
        with self._engine.connect() as conn:
            return conn.execute(select(QUESTIONS.c.question).where(QUESTIONS.c.ref == ref)).scalar()

    def stats(self, *, now: datetime | None = None) -> JournalStats:
        self.flush()
        self._ensure_schema()
        now = now or datetime.now(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        with self._engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(QUESTIONS)).scalar_one()
            today = conn.execute(
                select(func.count()).select_from(QUESTIONS).where(QUESTIONS.c.asked_at >= midnight)
            ).scalar_one()
            latencies = list(
                conn.execute(
                    select(QUESTIONS.c.latency_ms).order_by(QUESTIONS.c.id.desc()).limit(LATENCY_WINDOW)
                ).scalars()
            )
            votes = dict(conn.execute(select(FEEDBACK.c.vote, func.count()).group_by(FEEDBACK.c.vote)).all())
        return JournalStats(
            questions_today=int(today),
            questions_total=int(total),
            latency_p50_ms=percentile(latencies, 0.50),
            latency_p99_ms=percentile(latencies, 0.99),
            thumbs_up=int(votes.get(1, 0)),
            thumbs_down=int(votes.get(-1, 0)),
        )

    def votes_for(self, ref: str) -> dict[int, int]:
        """user id → vote on the question ``ref`` (for tests and support)."""
        self.flush()
        self._ensure_schema()
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(FEEDBACK.c.user_id, FEEDBACK.c.vote).where(FEEDBACK.c.question_ref == ref)
            )
            return {int(user): int(vote) for user, vote in rows}

    def close(self) -> None:
        self._queue.put(None)
        self._wake.set()
        self._writer.join(timeout=10)
        self._engine.dispose()

    # ----------------------------------------------------------------- the writer thread
    def _ensure_schema(self) -> None:
        if not self._schema_ready:
            JournalBase.metadata.create_all(self._engine)
            self._schema_ready = True

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
            log.error("journal: %d rows not written: %s", len(batch), describe_db_error(self.url, err))
        except Exception:
            log.exception("journal: %d rows not written", len(batch))
        finally:
            for _ in batch:
                self._queue.task_done()

    def _write(self, items: list[QuestionRecord | VoteRecord]) -> None:
        self._ensure_schema()
        questions = [
            {
                "ref": q.ref,
                "asked_at": q.asked_at,
                "chat_id": q.chat_id,
                "user_id": q.user_id,
                "question": q.question[:MAX_STORED_QUESTION],
                "snapshot_version": q.snapshot_version[:64],
                "answer_shown": q.answer_shown,
                "quotes": q.quotes,
                "no_match": q.no_match,
                "latency_ms": q.latency_ms,
            }
            for q in items
            if isinstance(q, QuestionRecord)
        ]
        votes = [v for v in items if isinstance(v, VoteRecord)]
        with self._engine.begin() as conn:
            if questions:
                conn.execute(insert(QUESTIONS), questions)
            for v in votes:
                changed = conn.execute(
                    update(FEEDBACK)
                    .where(FEEDBACK.c.question_ref == v.ref, FEEDBACK.c.user_id == v.user_id)
                    .values(vote=v.vote, voted_at=v.voted_at)
                ).rowcount
                if not changed:
                    conn.execute(
                        insert(FEEDBACK).values(
                            question_ref=v.ref, user_id=v.user_id, vote=v.vote, voted_at=v.voted_at
                        )
                    )
