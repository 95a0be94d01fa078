"""Seed-style text files: one article as it was first collected.

Layout (see data/000_*.txt)::

    Title line
    <blank lines>
    Date line ("January 22, 2022")
    <blank line>
    Body paragraphs, separated by blank lines (headings such as "Key Features" are paragraphs too)
    <blank line>
    INSERT INTO `wiki_article`(`id`, `article_id`, `title`, `article`, `img_url`) VALUES (...)

The INSERT row supplies ``article_id``, ``title`` and ``img_url`` and is parsed by the same
tokenizer as dumps. Its ``article`` is empty, so the stored body is the text's paragraphs joined
by blank lines; the title and date lines are not part of it. (If the text has no body but the
row has one, the row's is kept.) Its ``id`` (``'NULL()'`` in the seed) is ignored like every id.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from retrieval.errors import SourceError
from retrieval.storage.ingest.rows import MAX_ROW_BYTES
from retrieval.storage.ingest.sqldump import DumpReader
from retrieval.storage.records import ArticleRecord

_INSERT_LINE_RE = re.compile(r"^\s*(?:INSERT|REPLACE)\s", re.I)
_DATE_LINE_RE = re.compile(r"\d")


def read_seed(
    stream: BinaryIO, source: str, on_bad: Callable[[SourceError], None]
) -> Iterator[ArticleRecord]:
    """The one article of a seed text file."""
    data = stream.read(MAX_ROW_BYTES + 1)
    if len(data) > MAX_ROW_BYTES:
        raise SourceError(source, f"is larger than {MAX_ROW_BYTES >> 20} MB, too large for a seed text file")
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        raise SourceError(source, "the file holds NUL bytes, so it is binary, not text", line)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise SourceError(
            source, f"the file is not valid UTF-8 (byte {data[err.start]:#04x})", line
        ) from None
    lines = text.removeprefix("\ufeff").splitlines()
    insert_at = next((i for i, line in enumerate(lines) if _INSERT_LINE_RE.match(line)), None)
    if insert_at is None:
        raise SourceError(source, "has no INSERT INTO wiki_article row at its end; is it truncated?")
    body = _body(lines[:insert_at], source)
    sql = "\n".join(lines[insert_at:]).encode("utf-8")
    reader = DumpReader(io.BytesIO(sql), source, on_bad, first_line=insert_at + 1, terminated=False)
    records = list(reader)
    if len(records) > 1:
        raise SourceError(source, f"holds {len(records)} rows; a seed text file holds one article")
    for record in records:
        if body:
            record = dataclasses.replace(record, article=body)
        yield record


def _body(lines: list[str], source: str) -> str:
    """Paragraphs after the title and date lines, joined by one blank line; lines inside one are kept."""
    numbered = [(i + 1, line.rstrip()) for i, line in enumerate(lines)]
    filled = [(n, line) for n, line in numbered if line.strip()]
    if len(filled) < 2:
        raise SourceError(source, "needs a title line and a date line before the INSERT row")
    date_line, date = filled[1]
    if len(date) > 60 or not _DATE_LINE_RE.search(date):
        raise SourceError(source, f"expected the date line after the title, found '{date[:40]}'", date_line)
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for _, line in numbered[date_line:]:
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return "\n\n".join("\n".join(paragraph) for paragraph in paragraphs)
