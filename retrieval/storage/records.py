"""Source-neutral article records, the currency between ingestion readers and the store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


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
