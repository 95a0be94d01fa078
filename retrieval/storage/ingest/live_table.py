"""A live ``wiki_article`` table on MySQL/MariaDB, PostgreSQL or SQLite, read in keyset-paged batches.

One connection reads every batch, inside one read transaction, so the batches see one consistent
state of the table and memory stays at one batch whatever its size. Any failure of the source
database (unreachable, no such table, connection killed mid-read) becomes one
:class:`SourceError` naming the database, so the store's transaction for it rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine, column, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

from retrieval.errors import SourceError, StoreError
from retrieval.storage.database import driver_reason, open_engine, safe_url, timeout_reason
from retrieval.storage.ingest.rows import TABLE, TEXT_COLUMNS, BadRow, record_from_row
from retrieval.storage.records import ArticleRecord
from retrieval.storage.timeouts import DEFAULT_TIMEOUTS, Timeouts

BATCH = 1000


def read_table(
    url: str,
    on_bad: Callable[[SourceError], None],
    *,
    table_name: str = TABLE,
    batch_size: int = BATCH,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> Iterator[ArticleRecord]:
    """The records of ``table_name`` at ``url``, ordered by its integer key (or by article_id)."""
    source = f"{safe_url(url)} table {table_name}"
    engine = _engine(url, source, timeouts)
    try:
        with engine.connect() as conn, conn.begin():
            key, columns = _columns(conn, table_name, source)
            source_table = table(table_name, *(column(name) for name in {key, *columns}))
            query = select(*(source_table.c[name] for name in columns), source_table.c[key].label("_key"))
            last = None
            while True:
                page = query.order_by(source_table.c[key]).limit(batch_size)
                if last is not None:
                    page = page.where(source_table.c[key] > last)
                rows = conn.execute(page).mappings().all()
                for row in rows:
                    try:
                        yield record_from_row(row, f"{source} {key}={row['_key']}")
                    except BadRow as err:
                        on_bad(SourceError(source, f"the row with {key} {row['_key']!r}: {err}"))
                if len(rows) < batch_size:
                    return
                last = rows[-1]["_key"]
    except SQLAlchemyError as err:
        reason = timeout_reason(err, timeouts) or f"cannot be read ({driver_reason(err, url)})"
        raise SourceError(source, f"{reason}; nothing from it was written") from None
    finally:
        engine.dispose()


def _engine(url: str, source: str, timeouts: Timeouts) -> Engine:
    try:
        parsed = make_url(url)
    except Exception:
        raise SourceError(source, "is not a database URL") from None
    # open_engine would quietly create a missing SQLite file: a typo must fail instead.
    if parsed.get_backend_name() == "sqlite" and (
        not parsed.database or not Path(parsed.database).expanduser().is_file()
    ):
        raise SourceError(source, "no such SQLite database file")
    try:
        return open_engine(url, timeouts=timeouts)
    except StoreError as err:
        raise SourceError(source, f"cannot be used ({err})") from None


def _columns(conn, table_name: str, source: str) -> tuple[str, list[str]]:
    """The paging key and the wanted columns the table has."""
    inspector = inspect(conn)
    try:
        present = {c["name"]: c for c in inspector.get_columns(table_name)}
    except NoSuchTableError:
        raise SourceError(source, "does not exist") from None
    if "article_id" not in present:
        raise SourceError(source, "has no article_id column")
    primary = inspector.get_pk_constraint(table_name).get("constrained_columns") or []
    key = "article_id"
    if len(primary) == 1:
        try:
            if present[primary[0]]["type"].python_type is int:
                key = primary[0]
        except NotImplementedError:
            pass
    return key, ["article_id", *(name for name in TEXT_COLUMNS if name in present)]
