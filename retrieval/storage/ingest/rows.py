"""Turning one source row (column name -> value) into an :class:`ArticleRecord`.

Every reader ends here, so the rules for what a row must hold live in one place: an
``article_id`` (the upsert key, never NULL or empty), and text or NULL in the other columns,
kept exactly as given. ``id`` is read but never used: sources disagree on it.
"""

from __future__ import annotations

from collections.abc import Mapping

from retrieval.storage.records import ArticleRecord

TABLE = "wiki_article"
# The most bytes one row may take in any source (a JSONL line, a dump's statement part or value,
# a seed text file): past it a reader refuses the row rather than holding it. 64 MB is about 30
# times the longest article the index keeps (2 million characters, MAX_ARTICLE_CHARS), and keeps
# a compressed "bomb" (a few MB unpacking to one line of gigabytes) from taking all memory.
MAX_ROW_BYTES = 64 << 20
COLUMNS = ("id", "article_id", "title", "article", "img_url")
TEXT_COLUMNS = ("title", "article", "img_url")


class BadRow(ValueError):
    """A row a reader cannot turn into a record; the reader adds source and line."""


def record_from_row(row: Mapping[str, object], origin: str) -> ArticleRecord:
    """The record for ``row``; numbers are accepted where text is expected (SQL converts them too)."""
    article_id = row.get("article_id")
    if article_id is None:
        raise BadRow("the row has no article_id")
    article_id = _text("article_id", article_id)
    if not article_id:
        raise BadRow("the row's article_id is empty")
    title, article, img_url = (_text(name, row.get(name)) for name in TEXT_COLUMNS)
    return ArticleRecord(article_id, title, article, img_url, origin)


def _text(name: str, value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise BadRow(f"{name} must be text or NULL, not {type(value).__name__}")
