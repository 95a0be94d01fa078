"""Source-neutral article records, the currency between ingestion readers and the store."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass

# The longest article_id the store's column holds (VARCHAR(255) on MariaDB and PostgreSQL).
MAX_ARTICLE_ID_CHARS = 255
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """One row of ``wiki_article`` as a source gives it; values are kept exactly (``None`` is NULL).

    ``origin`` says where the row came from (``"dump.sql:812"``) so errors and skip lists can
    point at it; it is never stored.
    """

    article_id: str
    title: str | None
    article: str | None
    img_url: str | None
    origin: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.article or not self.article.strip()

    def content_hash(self) -> str:
        """Hash of the stored columns, so a re-ingest can tell unchanged rows without reading bodies.

        NULL and the empty string hash differently: both are kept as given.
        """
        digest = hashlib.blake2b(digest_size=16)
        for value in (self.title, self.article, self.img_url):
            if value is None:
                digest.update(b"\x00N")
            else:
                encoded = value.encode("utf-8", "surrogatepass")
                digest.update(b"\x01" + len(encoded).to_bytes(8, "little") + encoded)
        return digest.hexdigest()


def storable(record: ArticleRecord) -> ArticleRecord:
    """``record`` as every database keeps it alike, or ValueError with the reason in one sentence.

    The databases disagree at the edges, so each is refused here instead of by one of them: an
    article_id is stripped of surrounding whitespace (MariaDB compares "Kyiv " equal to "Kyiv",
    the others do not) and must fit the column; no text may hold a NUL character (PostgreSQL
    refuses one) or a lone surrogate (no database can encode one; JSON's "\\ud800" gives one).
    """
    article_id = record.article_id.strip()
    if not article_id:
        raise ValueError("the row's article_id is empty")
    if len(article_id) > MAX_ARTICLE_ID_CHARS:
        length, limit = len(article_id), MAX_ARTICLE_ID_CHARS
        raise ValueError(f"article_id is {length:,} characters long; the store keeps at most {limit}")
    for name, value in (
        ("article_id", article_id),
        ("title", record.title),
        ("article", record.article),
        ("img_url", record.img_url),
    ):
        if value is None or (value.isascii() and "\0" not in value):
            continue
        if "\0" in value:
            raise ValueError(f"{name} holds a NUL character, which PostgreSQL cannot store")
        bad = _SURROGATE.search(value)
        if bad:
            raise ValueError(f"{name} holds a lone surrogate (U+{ord(bad.group()):04X}), which is not text")
    if article_id != record.article_id:
        return dataclasses.replace(record, article_id=article_id)
    return record
