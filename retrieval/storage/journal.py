"""The bot's journal tables and every query on them: questions answered and the votes they got.

The tables (``bot_question``, ``bot_feedback``) live in the store's database with metadata of
their own, separate from the article table's, and are created on first use. Writes come in
batches (:meth:`JournalTables.write`), one transaction each.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from retrieval.errors import StoreError
from retrieval.storage.database import MYSQL_TABLE_ARGS, describe_db_error, open_engine
from retrieval.storage.timeouts import DEFAULT_TIMEOUTS, Timeouts

MAX_STORED_QUESTION = 4000
MAX_VERSION_CHARS = 64
MAX_TITLE_CHARS = 300


class JournalBase(DeclarativeBase):
    pass


class AskedQuestion(JournalBase):
    """One question answered (its first page): who asked, what they were shown, how fast."""

    __tablename__ = "bot_question"
    __table_args__ = MYSQL_TABLE_ARGS

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    # The conversation the question was asked in, as the front end numbers it (the bot: a
    # Telegram chat). Its column keeps the name journals were first written with.
    conversation_id: Mapped[int] = mapped_column("chat_id", BigInteger, nullable=False)
    user_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    question: Mapped[str] = mapped_column(Text, nullable=False)
    snapshot_version: Mapped[str] = mapped_column(String(MAX_VERSION_CHARS), nullable=False)
    answer_shown: Mapped[str | None] = mapped_column(Text, nullable=True)
    quotes: Mapped[int] = mapped_column(Integer, nullable=False)
    no_match: Mapped[bool] = mapped_column(Boolean, nullable=False)
    latency_ms: Mapped[float] = mapped_column(Float, nullable=False)
    # The first quote's title, so a 👎 can be traced to the article that answered (added later:
    # older journals get the column on first use, empty for their earlier rows).
    first_title: Mapped[str | None] = mapped_column(String(MAX_TITLE_CHARS), nullable=True)


class Feedback(JournalBase):
    """A user's latest vote on an answer (+1 or -1); voting again replaces it."""

    __tablename__ = "bot_feedback"
    __table_args__ = (UniqueConstraint("question_ref", "user_id"), MYSQL_TABLE_ARGS)

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
    conversation_id: int
    user_id: int
    question: str
    snapshot_version: str
    answer_shown: str | None
    quotes: int
    no_match: bool
    latency_ms: float
    asked_at: datetime
    first_title: str | None = None


@dataclass(frozen=True, slots=True)
class VoteRecord:
    ref: str
    user_id: int
    vote: int
    voted_at: datetime


@dataclass(frozen=True, slots=True)
class JournalCounts:
    """What ``/stats`` shows of the journal; ``latencies`` are the most recent first."""

    questions_today: int
    questions_total: int
    latencies: list[float]
    thumbs_up: int
    thumbs_down: int


@dataclass(frozen=True, slots=True)
class AskedRow:
    """One journaled question as a report reads it; ``vote`` is the sum of its votes (0: none)."""

    asked_at: datetime
    question: str
    no_match: bool
    latency_ms: float
    first_title: str | None
    vote: int


class JournalTables:
    """The journal's tables on ``url``. Writes raise SQLAlchemy's errors for the writer thread to
    report; reads, which answer a user (``/stats``, a "More" press), raise :class:`StoreError`."""

    def __init__(self, url: str, *, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> None:
        self.url = url
        self.timeouts = timeouts
        self.engine = open_engine(url, timeouts=timeouts)
        self._schema_ready = False

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """A read whose database failure is one sentence (:class:`StoreError`)."""
        try:
            self.ensure_schema()
            yield
        except DBAPIError as err:
            raise StoreError(describe_db_error(self.url, err, self.timeouts)) from None

    def close(self) -> None:
        self.engine.dispose()

    def ensure_schema(self) -> None:
        if not self._schema_ready:
            JournalBase.metadata.create_all(self.engine)
            self._add_missing_columns()
            self._schema_ready = True

    def _add_missing_columns(self) -> None:
        """Columns added to ``bot_question`` after a journal was created (nullable, so one
        ``ALTER TABLE ... ADD COLUMN`` on SQLite, MariaDB and PostgreSQL alike)."""
        present = {column["name"] for column in inspect(self.engine).get_columns(QUESTIONS.name)}
        if "first_title" not in present:
            with self.engine.begin() as conn:
                conn.execute(
                    text(
                        f"ALTER TABLE {QUESTIONS.name} ADD COLUMN first_title VARCHAR({MAX_TITLE_CHARS}) NULL"
                    )
                )

    def write(self, questions: list[QuestionRecord], votes: list[VoteRecord]) -> None:
        """Insert the questions and apply the votes (a repeated vote replaces the earlier one)."""
        self.ensure_schema()
        rows = [
            {
                "ref": q.ref,
                "asked_at": q.asked_at,
                "chat_id": q.conversation_id,
                "user_id": q.user_id,
                "question": q.question[:MAX_STORED_QUESTION],
                "snapshot_version": q.snapshot_version[:MAX_VERSION_CHARS],
                "answer_shown": q.answer_shown,
                "quotes": q.quotes,
                "no_match": q.no_match,
                "latency_ms": q.latency_ms,
                "first_title": q.first_title[:MAX_TITLE_CHARS] if q.first_title else None,
            }
            for q in questions
        ]
        with self.engine.begin() as conn:
            if rows:
                conn.execute(insert(QUESTIONS), rows)
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

    def question(self, ref: str) -> str | None:
        with self._reading(), self.engine.connect() as conn:
            return conn.execute(select(QUESTIONS.c.question).where(QUESTIONS.c.ref == ref)).scalar()

    def asked_since(self, since: datetime) -> Iterator[AskedRow]:
        """Every question asked at or after ``since``, oldest first, with its net vote."""
        votes = (
            select(FEEDBACK.c.question_ref, func.sum(FEEDBACK.c.vote).label("vote"))
            .group_by(FEEDBACK.c.question_ref)
            .subquery()
        )
        query = (
            select(
                QUESTIONS.c.asked_at,
                QUESTIONS.c.question,
                QUESTIONS.c.no_match,
                QUESTIONS.c.latency_ms,
                QUESTIONS.c.first_title,
                func.coalesce(votes.c.vote, 0),
            )
            .outerjoin(votes, votes.c.question_ref == QUESTIONS.c.ref)
            .where(QUESTIONS.c.asked_at >= since)
            .order_by(QUESTIONS.c.asked_at, QUESTIONS.c.id)
        )
        with self._reading(), self.engine.connect() as conn:
            for asked_at, question, no_match, latency, title, vote in conn.execute(query):
                yield AskedRow(asked_at, question, bool(no_match), float(latency), title, int(vote))

    def counts(self, *, since: datetime, latency_window: int) -> JournalCounts:
        """Questions since ``since`` and in all, the latest ``latency_window`` latencies, votes."""
        with self._reading(), self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(QUESTIONS)).scalar_one()
            today = conn.execute(
                select(func.count()).select_from(QUESTIONS).where(QUESTIONS.c.asked_at >= since)
            ).scalar_one()
            latencies = list(
                conn.execute(
                    select(QUESTIONS.c.latency_ms).order_by(QUESTIONS.c.id.desc()).limit(latency_window)
                ).scalars()
            )
            votes = dict(conn.execute(select(FEEDBACK.c.vote, func.count()).group_by(FEEDBACK.c.vote)).all())
        return JournalCounts(
            questions_today=int(today),
            questions_total=int(total),
            latencies=latencies,
            thumbs_up=int(votes.get(1, 0)),
            thumbs_down=int(votes.get(-1, 0)),
        )
