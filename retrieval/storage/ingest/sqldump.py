"""Rows of one table from a mysqldump / mariadb-dump file, streamed in constant memory.

Why a tokenizer of our own: sqlglot and sqlparse take a whole statement (or file) as one string
and build a token list or tree for it, while one extended INSERT runs to megabytes and a dump to
gigabytes, and rows should reach the store as they are read. (Their throughput was not measured
here; the structure alone rules them out for constant memory.)

A dump needs only a sliver of SQL understood: comments (``/*!...*/`` and ``/*M!...*/`` too),
statement boundaries, ``DELIMITER``, ``CREATE TABLE`` column order and ``INSERT ... VALUES``
tuples. Each is a compiled regex matched against a sliding byte buffer, and quoted strings are
found with bytes.find, so the bulk of the bytes is scanned in C and Python runs once per value.
Strings are unescaped and decoded one at a time (:mod:`retrieval.storage.ingest.sqlvalues`), which lets
bad UTF-8 or a broken escape be reported with its line while the rest of the file carries on
(``--skip-bad``).

Buffering rule: a match that fails, or that runs up to the end of the buffer, may only be cut by
the chunk boundary, so more input is read (at least doubling what is pending) and the same piece
is matched again. Only at the end of input is such a failure an error. Memory is bounded by the
longest single statement head or value, capped at :data:`~retrieval.storage.ingest.rows.MAX_ROW_BYTES`.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import BinaryIO

from retrieval.errors import SourceError
from retrieval.storage.ingest.rows import (
    COLUMNS,
    MAX_ROW_BYTES,
    TABLE,
    TEXT_COLUMNS,
    BadRow,
    record_from_row,
)
from retrieval.storage.ingest.sqlvalues import STRING_BODY, Value, decode_value, string_end
from retrieval.storage.records import ArticleRecord

CHUNK = 4 << 20

_STRING = rb"'" + STRING_BODY + rb"'"
# One value: 1 = introducer (_utf8mb4, _binary, x, b), 2 = string body, 3 = bare word (NULL, 12, 0x1F).
_VALUE = rb"\s*+(?:(?:(_\w++|[bBxXnN](?='))\s*+)?'(" + STRING_BODY + rb")'|([^\s,()'`;]++)(?!\s*+'))"
_VALUE_RE = re.compile(_VALUE, re.S)
_VALUE_SEP_RE = re.compile(_VALUE + rb"\s*+([,)])", re.S)
_STRING_START_RE = re.compile(rb"\s*+(?:(?:_\w++|[bBxXnN])\s*+)?'")
_OPEN_RE = re.compile(rb"\s*+\(")
_SPACE_RE = re.compile(rb"\s*+")
# Whitespace and comments between statements; conditional comments are comments to us.
_GAP_RE = re.compile(rb"(?:\s++|--(?:[ \t\r][^\n]*+)?\n|\#[^\n]*+\n|/\*.*?\*/)*+", re.S)
_NAME = rb"(?:`(?:[^`]|``)++`|\w++)"
_QNAME = rb"(" + _NAME + rb"(?:\s*+\.\s*+" + _NAME + rb")?)"
_INSERT_RE = re.compile(
    rb"(?:INSERT|REPLACE)\s++(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\s++)*+INTO\s++"
    + _QNAME
    + rb"\s*+(?:\(([^)]*+)\)\s*+)?VALUES?(?!\w)",
    re.I,
)
_CREATE_RE = re.compile(
    rb"CREATE\s++(?:OR\s++REPLACE\s++)?(?:TEMPORARY\s++)?TABLE\s++(?:IF\s++NOT\s++EXISTS\s++)?"
    + _QNAME
    + rb"\s*+\(",
    re.I,
)
_DELIMITER_RE = re.compile(rb"DELIMITER[ \t]++(\S++)[^\n]*+\n", re.I)
_CREATE_ITEM_RE = re.compile(rb"'" + STRING_BODY + rb"'|`(?:[^`]|``)*+`|\"[^\"]*+\"|[(),]|[^\s'`\"(),]++")
_NAME_PART_RE = re.compile(rb"`((?:[^`]|``)*+)`|([^\s.`]++)")
_NOT_COLUMNS = {b"PRIMARY", b"KEY", b"UNIQUE", b"INDEX", b"CONSTRAINT", b"FOREIGN", b"FULLTEXT"}
_NOT_COLUMNS |= {b"SPATIAL", b"CHECK", b"PERIOD", b"VECTOR"}


@lru_cache(maxsize=8)
def _statement_end_re(delimiter: bytes) -> re.Pattern[bytes]:
    """Everything up to and including ``delimiter``, stepping over strings, quoted names and comments."""
    first = re.escape(delimiter[:1])
    plain = rb"[^'\"`/#\-" + first + rb"]++"
    parts = [
        plain,
        _STRING,
        rb'"[^"\\]*+(?:(?:\\.|"")[^"\\]*+)*+"',
        rb"`[^`]*+`",
        rb"/\*.*?\*/",
        rb"--[ \t\r][^\n]*+\n",
        rb"\#[^\n]*+\n",
        rb"/(?!\*)",
        rb"-(?!-[ \t\r])",
    ]
    if len(delimiter) > 1:
        parts.append(rb"(?!" + re.escape(delimiter) + rb")" + first)
    return re.compile(rb"(?:" + b"|".join(parts) + rb")*+" + re.escape(delimiter), re.S)


class _NeedMore(Exception):
    """The piece being matched may continue past the end of the buffer."""


def _unquote(name: bytes) -> str:
    """The last part of a possibly qualified, possibly backquoted name: `db`.`t` -> t."""
    quoted, bare = _NAME_PART_RE.findall(name)[-1]
    return (bare or quoted.replace(b"``", b"`")).decode("utf-8", "replace")


class DumpReader:
    """One pass over a dump, yielding the records of ``table``.

    ``terminated`` says whether the last INSERT must end with its delimiter: dumps always do; the
    INSERT at the end of a seed text file may stop at end of file. ``first_line`` numbers lines
    when the SQL starts inside a larger file.
    """

    def __init__(
        self,
        stream: BinaryIO,
        source: str,
        on_bad: Callable[[SourceError], None],
        *,
        table: str = TABLE,
        first_line: int = 1,
        terminated: bool = True,
    ) -> None:
        self.stream = stream
        self.source = source
        self.on_bad = on_bad
        self.table = table
        self.terminated = terminated
        self.buf = b""
        self.eof = False
        self.line = first_line  # line number at buffer position self.counted
        self.counted = 0
        self.delimiter = b";"
        self.create_columns: list[str] | None = None
        self.saw_table = False

    # -- buffer and line bookkeeping -------------------------------------------------------------

    def _fill(self, keep: int) -> None:
        """Drop ``buf[:keep]`` and append more input (at least as much as is pending)."""
        if keep > self.counted:
            self._count_to(keep)
        pending = len(self.buf) - keep
        if pending > MAX_ROW_BYTES:
            self._fail(
                keep,
                f"a single statement part or value is longer than {MAX_ROW_BYTES >> 20} MB; "
                "is a string left unterminated?",
            )
        try:
            data = self.stream.read(max(CHUNK, pending))
        except (OSError, EOFError, zlib.error) as err:
            self._fail(len(self.buf), f"the file cannot be read past this point ({err}); is it truncated?")
        if not data:
            self.eof = True
            data = b"\n"  # so a last comment or DELIMITER line needs no special case
        elif b"\0" in data:
            line = self._line_at(len(self.buf)) + data.count(b"\n", 0, data.index(b"\0"))
            raise SourceError(self.source, "the file holds NUL bytes, so it is binary, not an SQL dump", line)
        self.buf = self.buf[keep:] + data
        self.counted -= keep

    def _count_to(self, pos: int) -> None:
        self.line += self.buf.count(b"\n", self.counted, pos)
        self.counted = pos

    def _line_at(self, pos: int) -> int:
        return self.line + self.buf.count(b"\n", self.counted, pos)

    def _fail(self, pos: int, message: str):
        raise SourceError(self.source, message, line=self._line_at(pos))

    def _snippet(self, pos: int) -> str:
        text = self.buf[pos : pos + 30].split(b"\n")[0].decode("utf-8", "replace")
        return text or "end of line"

    # -- statements ------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[ArticleRecord]:
        self._fill(0)
        pos = 3 if self.buf.startswith(b"\xef\xbb\xbf") else 0  # a byte-order mark from a Windows editor
        while True:
            pos = _GAP_RE.match(self.buf, pos).end()
            if pos >= len(self.buf):
                if self.eof:
                    break
                self._fill(pos)
                pos = 0
                continue
            self._count_to(pos)
            try:
                step = self._statement(pos)
            except _NeedMore:
                if self.eof:
                    self._fail(pos, "the file ends inside a statement; is it truncated?")
                self._fill(pos)
                pos = 0
                continue
            if isinstance(step, int):
                pos = step
                continue
            pos = yield from step
        if not self.saw_table:
            raise SourceError(self.source, f"holds no CREATE TABLE or INSERT for table {self.table}")

    def _statement(self, pos: int) -> int | Iterator[ArticleRecord]:
        """Where the statement at ``pos`` ends, or a generator over its rows (which returns that)."""
        buf = self.buf
        if len(buf) - pos < 16 and not self.eof:
            raise _NeedMore  # room to tell a comment, a delimiter and a keyword apart
        head = buf[pos : pos + 3]
        if head.startswith((b"/*", b"#")) or (
            head.startswith(b"--") and (len(head) < 3 or head[2] in b" \t\r")
        ):
            if self.eof:
                self._fail(pos, "a comment is never closed")
            raise _NeedMore
        if buf.startswith(self.delimiter, pos):
            return pos + len(self.delimiter)
        if buf.startswith(b";", pos):
            return pos + 1
        if not buf[pos : pos + 1].isalpha():
            self._fail(pos, f"expected an SQL statement but found '{self._snippet(pos)}'")
        if (match := _INSERT_RE.match(buf, pos)) is not None:
            if match.end() >= len(buf) and not self.eof:
                raise _NeedMore  # VALUE may be VALUES cut short
            return self._insert(match)
        if (match := _DELIMITER_RE.match(buf, pos)) is not None:
            self.delimiter = match.group(1)
            return match.end()
        if buf[pos : pos + 9].upper() == b"DELIMITER":
            raise _NeedMore
        end = _statement_end_re(self.delimiter).match(buf, pos)
        if end is None:
            raise _NeedMore
        if (create := _CREATE_RE.match(buf, pos)) is not None and _unquote(create.group(1)) == self.table:
            self.saw_table = True
            self.create_columns = _create_columns(buf[create.end() - 1 : end.end()])
        return end.end()

    def _insert(self, head: re.Match[bytes]) -> Iterator[ArticleRecord]:
        """The rows of one INSERT statement (none for other tables); returns where it ends."""
        wanted = _unquote(head.group(1)) == self.table
        columns: list[str] = []
        if wanted:
            self.saw_table = True
            if head.group(2) is not None:
                columns = [_unquote(name.strip()) for name in head.group(2).split(b",")]
            else:
                columns = self.create_columns or list(COLUMNS)
            if "article_id" not in columns:
                self._fail(head.start(), f"this INSERT into {self.table} has no article_id column")
        pos = head.end()
        while True:
            while True:
                try:
                    values, starts, opened, pos = self._tuple(pos)
                    break
                except _NeedMore:
                    if self.eof:
                        self._bad_row(
                            _SPACE_RE.match(self.buf, pos).end(),
                            "the file ends inside this row (a string or the row is never closed)",
                        )
                        return len(self.buf)
                    self._fill(pos)
                    pos = 0
            if wanted:
                self._count_to(opened)
                record = self._record(values, starts, columns, opened)
                if record is not None:
                    yield record
            while True:
                try:
                    pos, more = self._after_tuple(pos)
                    break
                except _NeedMore:
                    if self.eof:
                        if self.terminated:
                            self._fail(pos, "the file ends inside an INSERT statement; is it truncated?")
                        return len(self.buf)
                    self._fill(pos)
                    pos = 0
            if not more:
                return pos

    def _tuple(self, pos: int) -> tuple[list[Value], list[int], int, int]:
        """The values of the tuple at ``pos``, where each starts, where its '(' is, and where it ends.

        A plain string followed directly by ',' or ')' (what dumps write) is found with
        bytes.find, in C; anything else goes through the value regex. A value matched together
        with the separator after it cannot be cut by the buffer's end, so only a failed match
        needs a closer look.
        """
        buf = self.buf
        size = len(buf)
        opened = _OPEN_RE.match(buf, pos)
        if opened is None:
            if _SPACE_RE.match(buf, pos).end() >= size:
                raise _NeedMore
            self._fail(pos, f"expected '(' to start a row but found '{self._snippet(pos)}'")
        pos = opened.end()
        values: list[Value] = []
        starts: list[int] = []
        match_value = _VALUE_SEP_RE.match
        while True:
            if pos < size and buf[pos] == 39:  # '
                end = string_end(buf, pos + 1)
                if 0 <= end < size - 1 and buf[end + 1] in b",)":
                    values.append(buf[pos + 1 : end])
                    starts.append(pos + 1)
                    pos = end + 2
                    if buf[end + 1] == 41:  # )
                        return values, starts, opened.end() - 1, pos
                    continue
            match = match_value(buf, pos)
            if match is None:
                self._diagnose(pos)
                raise _NeedMore
            values.append(match)
            starts.append(max(match.start(2), match.start(3)))
            pos = match.end()
            if buf[pos - 1] == 41:  # )
                return values, starts, opened.end() - 1, pos

    def _diagnose(self, pos: int) -> None:
        """Raise if the value at ``pos`` is wrong whatever follows; return if it may just be cut."""
        buf = self.buf
        value = _VALUE_RE.match(buf, pos)
        if value is None:
            if _STRING_START_RE.match(buf, pos) is not None:
                return  # a string still open: more input or end of file decides
            if _SPACE_RE.match(buf, pos).end() >= len(buf):
                return
            self._fail(pos, f"expected a value but found '{self._snippet(_SPACE_RE.match(buf, pos).end())}'")
        after = _SPACE_RE.match(buf, value.end()).end()
        if after >= len(buf):
            return
        if buf[after] not in b",)":
            self._fail(after, f"expected ',' or ')' after a value but found '{self._snippet(after)}'")

    def _after_tuple(self, pos: int) -> tuple[int, bool]:
        """Past the separator after a tuple: (position, whether another tuple follows)."""
        buf = self.buf
        pos = _SPACE_RE.match(buf, pos).end()
        if pos >= len(buf):
            raise _NeedMore
        if buf[pos] == 44:  # ','
            return pos + 1, True
        if buf.startswith(self.delimiter, pos):
            return pos + len(self.delimiter), False
        if buf.startswith(b";", pos):
            return pos + 1, False
        if buf[pos : pos + 2].upper() == b"ON":
            end = _statement_end_re(self.delimiter).match(buf, pos)
            if end is None:
                raise _NeedMore
            return end.end(), False
        if len(buf) - pos < max(2, len(self.delimiter)) and not self.eof:
            raise _NeedMore
        self._fail(pos, f"expected ',' or ';' after a row but found '{self._snippet(pos)}'")

    # -- rows ------------------------------------------------------------------------------------

    def _bad_row(self, pos: int, message: str) -> None:
        self.on_bad(SourceError(self.source, message, line=self._line_at(pos)))

    def _record(
        self, values: list[Value], starts: list[int], columns: list[str], opened: int
    ) -> ArticleRecord | None:
        if len(values) != len(columns):
            self._bad_row(opened, f"the row has {len(values)} values for {len(columns)} columns")
            return None
        row: dict[str, str | None] = {}
        for name, value, start in zip(columns, values, starts, strict=True):
            if name == "article_id" or name in TEXT_COLUMNS:
                try:
                    row[name] = decode_value(value, name)
                except BadRow as err:
                    self._bad_row(start, str(err))
                    return None
        try:
            return record_from_row(row, f"{self.source}:{self.line}")
        except BadRow as err:
            self._bad_row(opened, str(err))
            return None


def _create_columns(body: bytes) -> list[str]:
    """Column names, in order, from the parenthesised body of a CREATE TABLE statement."""
    columns: list[str] = []
    depth = 0
    item_start = True
    for token in _CREATE_ITEM_RE.findall(body):
        if token == b"(":
            depth += 1
        elif token == b")":
            depth -= 1
        elif token == b"," and depth == 1:
            item_start = True
        elif depth == 1 and item_start:
            item_start = False
            if token.upper() not in _NOT_COLUMNS:
                columns.append(_unquote(token) if token.startswith(b"`") else token.strip(b'"').decode())
    return columns


def read_dump(
    stream: BinaryIO,
    source: str,
    on_bad: Callable[[SourceError], None],
    *,
    table: str = TABLE,
) -> Iterator[ArticleRecord]:
    """The rows of ``table`` in the dump read from ``stream``."""
    return iter(DumpReader(stream, source, on_bad, table=table))
