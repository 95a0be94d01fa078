"""The article store: the ``wiki_article`` table in SQLite, MariaDB/MySQL or PostgreSQL.

Writes go through :meth:`ArticleStore.upsert`, one transaction per source, so a bad row or a
dropped connection leaves nothing half-written. A reindex reads through :meth:`ArticleStore.reading`:
one read transaction on a snapshot of the table (repeatable read on MariaDB and PostgreSQL; on
SQLite, whose WAL mode keeps a reader from blocking writers, one read transaction), paged by key
so that millions of articles are read in constant memory, all of them as of one moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Connection,
    DateTime,
    Integer,
    String,
    Text,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from retrieval.errors import SourceError, StoreError
from retrieval.storage.database import (
    MYSQL_TABLE_ARGS,
    describe_db_error,
    mysql_variant,
    open_engine,
)
from retrieval.storage.records import MAX_ARTICLE_ID_CHARS, ArticleRecord, storable
from retrieval.storage.timeouts import DEFAULT_TIMEOUTS, Timeouts

UPSERT_BATCH = 1000
READ_BATCH = 1000


class Base(DeclarativeBase):
    pass


class Article(Base):
    """The source's ``wiki_article`` columns plus what change detection needs.

    ``id`` is the store's own row id: sources disagree on it (``'NULL()'`` in the seed), so it is
    never taken from them; ``article_id`` is the identity articles are upserted by.
    """

    __tablename__ = "wiki_article"
    __table_args__ = MYSQL_TABLE_ARGS

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(
        mysql_variant(
            String(MAX_ARTICLE_ID_CHARS), mysql.VARCHAR(MAX_ARTICLE_ID_CHARS, collation="utf8mb4_bin")
        ),
        unique=True,
        nullable=False,
    )
    title: Mapped[str | None] = mapped_column(mysql_variant(Text(), mysql.TEXT()), nullable=True)
    article: Mapped[str | None] = mapped_column(mysql_variant(Text(), mysql.LONGTEXT()), nullable=True)
    img_url: Mapped[str | None] = mapped_column(mysql_variant(Text(), mysql.TEXT()), nullable=True)
    content_hash: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


ARTICLES = Article.__table__


@dataclass(slots=True)
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    empty: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    article_id: str
    title: str | None
    article: str | None
    img_url: str | None
    content_hash: str


class SeenKeys:
    """The article_ids one source has given so far, in about 8 bytes each.

    A set of the ids themselves costs some 100 bytes an id (300 MB at three million articles),
    which would break the constant-memory promise of streaming a dump. This keeps 64-bit hashes
    instead: a set of recent ones, checked per record, and a sorted numpy array of the older
    ones, checked once per batch (a numpy call per record would cost more than the rest of the
    upsert). Recent keys move to the array only between batches, so a batch is never found in
    the array itself. Two different ids share a hash with odds of about n^2 / 2^65 (3e-6 at ten
    million ids); then the second is reported as a duplicate.
    """

    RECENT = 1 << 16

    def __init__(self) -> None:
        self._recent: set[int] = set()
        self._merged = None  # numpy uint64 array, sorted, once there is one

    @staticmethod
    def _key(article_id: str) -> int:
        return hash(article_id) & 0xFFFF_FFFF_FFFF_FFFF

    def add(self, article_id: str) -> bool:
        """Remember ``article_id``; False if it is among the recent ones already."""
        key = self._key(article_id)
        if key in self._recent:
            return False
        self._recent.add(key)
        return True

    def seen_before(self, article_ids: list[str]) -> list[bool]:
        """For each id, whether it was added before the recent ones (i.e. in an earlier batch)."""
        merged = self._merged
        if merged is None:
            return [False] * len(article_ids)
        import numpy as np

        keys = np.fromiter((self._key(a) for a in article_ids), dtype=np.uint64, count=len(article_ids))
        at = np.minimum(np.searchsorted(merged, keys), merged.size - 1)
        return (merged[at] == keys).tolist()

    def settle(self) -> None:
        """Between batches: move the recent keys to the sorted array once there are many."""
        if len(self._recent) < self.RECENT:
            return
        import numpy as np

        recent = np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent))
        recent.sort()
        joined = recent if self._merged is None else np.concatenate([self._merged, recent])
        joined.sort(kind="stable")  # timsort: two sorted runs merge in linear time
        self._merged = joined
        self._recent = set()


BadRowHandler = Callable[[SourceError], None]


def raise_bad_row(error: SourceError) -> None:
    """The default bad-row policy: stop the source, so its transaction rolls back."""
    raise error


class ArticleStore:
    """The ``wiki_article`` table behind one database URL; the schema is created on first use."""

    def __init__(self, url: str, *, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> None:
        self.url = url
        self.timeouts = timeouts
        self.engine = open_engine(url, timeouts=timeouts)
        self._schema_ready = False

    def close(self) -> None:
        self.engine.dispose()

    def ensure_schema(self) -> None:
        if self._schema_ready:
            return
        try:
            Base.metadata.create_all(self.engine, tables=[ARTICLES])
        except DBAPIError as err:
            raise StoreError(describe_db_error(self.url, err, self.timeouts)) from None
        self._schema_ready = True

    def upsert(
        self,
        records: Iterable[ArticleRecord],
        *,
        source: str,
        on_bad: BadRowHandler = raise_bad_row,
        on_record: Callable[[ArticleRecord], None] | None = None,
    ) -> UpsertCounts:
        """Insert new articles, update changed ones, leave unchanged ones alone, in one transaction.

        A second record with the same ``article_id`` in one source is a bad row (``on_bad``
        decides), and so is one that some database would refuse (see
        :func:`~retrieval.storage.records.storable`), found here so that every database takes the
        same rows. Any exception rolls the whole source back.
        """
        self.ensure_schema()
        counts = UpsertCounts()
        seen = SeenKeys()
        now = datetime.now(UTC)

        def bad(record: ArticleRecord, message: str) -> None:
            counts.skipped += 1
            on_bad(SourceError(source, message, line=_line_of(record.origin)))

        def duplicate(record: ArticleRecord) -> None:
            bad(record, f"article_id '{record.article_id}' appears twice in this source")

        def flush(batch: list[ArticleRecord]) -> None:
            earlier = seen.seen_before([r.article_id for r in batch])
            if any(earlier):
                for record, twice in zip(batch, earlier, strict=True):
                    if twice:
                        duplicate(record)
                batch = [r for r, twice in zip(batch, earlier, strict=True) if not twice]
            self._write_batch(conn, batch, counts, now)
            seen.settle()

        try:
            with self.engine.begin() as conn:
                batch: list[ArticleRecord] = []
                for given in records:
                    try:
                        record = storable(given)
                    except ValueError as err:
                        bad(given, str(err))
                        continue
                    if not seen.add(record.article_id):
                        duplicate(record)
                        continue
                    batch.append(record)
                    if on_record is not None:
                        on_record(record)
                    if len(batch) >= UPSERT_BATCH:
                        flush(batch)
                        batch = []
                if batch:
                    flush(batch)
        except DBAPIError as err:
            raise StoreError(
                f"{describe_db_error(self.url, err, self.timeouts)}; nothing from {source} was written"
            ) from None
        return counts

    @staticmethod
    def _write_batch(conn, batch: list[ArticleRecord], counts: UpsertCounts, now: datetime) -> None:
        ids = [r.article_id for r in batch]
        existing = {
            row.article_id: (row.id, row.content_hash)
            for row in conn.execute(
                select(ARTICLES.c.id, ARTICLES.c.article_id, ARTICLES.c.content_hash).where(
                    ARTICLES.c.article_id.in_(ids)
                )
            )
        }
        inserts, updates = [], []
        for record in batch:
            if record.is_empty:
                counts.empty += 1
            digest = record.content_hash()
            values = {
                "title": record.title,
                "article": record.article,
                "img_url": record.img_url,
                "content_hash": digest,
            }
            found = existing.get(record.article_id)
            if found is None:
                inserts.append(
                    {"article_id": record.article_id, **values, "created_at": now, "updated_at": now}
                )
                counts.new += 1
            elif found[1] != digest:
                updates.append({"row_id": found[0], **values, "updated_at": now})
                counts.updated += 1
            else:
                counts.unchanged += 1
        if inserts:
            conn.execute(insert(ARTICLES), inserts)
        if updates:
            conn.execute(
                update(ARTICLES)
                .where(ARTICLES.c.id == bindparam("row_id"))
                .values(
                    title=bindparam("title"),
                    article=bindparam("article"),
                    img_url=bindparam("img_url"),
                    content_hash=bindparam("content_hash"),
                    updated_at=bindparam("updated_at"),
                ),
                updates,
            )

    @contextmanager
    def reading(self) -> Iterator[StoreReader]:
        """The store as of one moment, for as long as the block runs (one read transaction)."""
        self.ensure_schema()
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    # pysqlite opens no transaction for a SELECT: each would see the database as
                    # of its own moment. A deferred BEGIN takes one read snapshot at the first read.
                    conn.exec_driver_sql("BEGIN")
                else:
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                    conn.begin()
                yield StoreReader(conn)
                conn.rollback()
        except DBAPIError as err:
            raise StoreError(describe_db_error(self.url, err, self.timeouts)) from None

    def counts(self) -> tuple[int, int]:
        """(articles, articles with an empty body)."""
        with self.reading() as read:
            return read.counts()


class StoreReader:
    """Reads of one transaction (see :meth:`ArticleStore.reading`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def counts(self) -> tuple[int, int]:
        """(articles, articles with an empty body)."""
        body = func.coalesce(func.trim(ARTICLES.c.article), "")
        total = self._conn.execute(select(func.count()).select_from(ARTICLES)).scalar_one()
        empty = self._conn.execute(select(func.count()).select_from(ARTICLES).where(body == "")).scalar_one()
        return int(total), int(empty)

    def articles(self, batch_size: int = READ_BATCH) -> Iterator[StoredArticle]:
        """Every article in id order, fetched ``batch_size`` at a time (keyset pagination)."""
        columns = (
            ARTICLES.c.id,
            ARTICLES.c.article_id,
            ARTICLES.c.title,
            ARTICLES.c.article,
            ARTICLES.c.img_url,
            ARTICLES.c.content_hash,
        )
        last_id = 0
        while True:
            rows = self._conn.execute(
                select(*columns).where(ARTICLES.c.id > last_id).order_by(ARTICLES.c.id).limit(batch_size)
            ).all()
            if not rows:
                return
            for row in rows:
                yield StoredArticle(*row)
            last_id = rows[-1].id


def _line_of(origin: str) -> int | None:
    _, _, tail = origin.rpartition(":")
    return int(tail) if tail.isdigit() else None
