"""SQL literals as dumps write them: where a quoted string ends, its escapes undone, and any
value of a row turned into the text (or NULL) stored for it.

Kept apart from the statement tokenizer because this is where the time goes on a big dump:
each function is shaped so the bulk of the bytes is handled by C (bytes.find, split, replace,
decode) and Python runs once per value or per escape, never per character.
"""

from __future__ import annotations

import re

from retrieval.storage.ingest.rows import BadRow

# A quoted string's body: runs of plain bytes between escapes (\x) or doubled quotes ('').
STRING_BODY = rb"[^'\\]*+(?:(?:\\.|'')[^'\\]*+)*+"

NUMBER_RE = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# MySQL's escapes (\\ is handled by the split itself); \% and \_ keep their backslash, as in MySQL.
ESCAPES = {
    b"0": b"\0",
    b"'": b"'",
    b'"': b'"',
    b"b": b"\b",
    b"n": b"\n",
    b"r": b"\r",
    b"t": b"\t",
    b"Z": b"\x1a",
    b"%": b"\\%",
    b"_": b"\\_",
}
_BY_BYTE = {key[0]: value for key, value in ESCAPES.items()}

Value = bytes | re.Match[bytes]  # a plain string's raw body, or the regex match of any other value


def string_end(buf: bytes, start: int) -> int:
    """Where the quote closing the string whose body starts at ``start`` is, or -1 if not in ``buf``.

    A quote preceded by an odd run of backslashes is escaped; two quotes in a row are one.
    """
    find = buf.find
    pos = start
    while True:
        quote = find(b"'", pos)
        if quote < 0:
            return -1
        before = quote - 1
        while before >= start and buf[before] == 92:  # backslash
            before -= 1
        if (quote - 1 - before) & 1:
            pos = quote + 1
        elif quote + 1 < len(buf) and buf[quote + 1] == 39:
            pos = quote + 2
        else:
            return quote


def unescape(raw: bytes) -> bytes:
    """MySQL string escapes (and doubled quotes) undone.

    After a split on the backslash (in C), every piece but the first starts with the escaped
    character, so the usual string -- a few \\n, \\' and \\" -- is rebuilt by one comprehension.
    (Measured: chains of bytes.replace were three times slower, a regex callback slower still.)
    An escaped backslash leaves an empty piece, and doubled quotes need the plain parts told
    apart from the escaped characters; both take the stepwise path.
    """
    pieces = raw.split(b"\\")
    doubled = b"''" in raw
    if not doubled and b"\\\\" not in raw:
        try:
            return pieces[0] + b"".join([_BY_BYTE[piece[0]] + piece[1:] for piece in pieces[1:]])
        except (KeyError, IndexError):
            pass  # a broken escape: the stepwise path names it
    return _unescape_stepwise(pieces, doubled)


def _unescape_stepwise(pieces: list[bytes], doubled: bool) -> bytes:
    """One escape at a time: an empty piece is an escaped backslash, and the piece after it is
    plain text; doubled quotes are undone in plain text only."""
    out = [pieces[0].replace(b"''", b"'") if doubled else pieces[0]]
    index, count = 1, len(pieces)
    while index < count:
        piece = pieces[index]
        if piece:
            try:
                out.append(ESCAPES[piece[:1]])
            except KeyError:
                shown = piece[:4].decode("utf-8", "replace")[:1]
                raise BadRow(f"holds the broken escape \\{shown}") from None
            rest = piece[1:]
        else:
            out.append(b"\\")
            index += 1
            rest = pieces[index] if index < count else b""
        out.append(rest.replace(b"''", b"'") if doubled else rest)
        index += 1
    return b"".join(out)


def decode_value(value: Value, column: str) -> str | None:
    """One value as text: a string unescaped and UTF-8 decoded, NULL as None, a number as written."""
    if isinstance(value, bytes):
        raw = value
    else:
        raw = value.group(2)
        if raw is None:
            word = value.group(3)
            if word.upper() == b"NULL":
                return None
            if NUMBER_RE.fullmatch(word):
                return word.decode("ascii")
            shown = word[:40].decode("utf-8", "replace")
            raise BadRow(f"{column} holds {shown}, which is not text, a number or NULL")
        introducer = value.group(1)
        if introducer is not None and introducer.lower() in (b"x", b"b"):
            raise BadRow(f"{column} holds a {introducer.decode()}'...' literal, which is not text")
    if b"\\" in raw or b"''" in raw:
        try:
            raw = unescape(raw)
        except BadRow as err:
            raise BadRow(f"{column} {err}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadRow(f"{column} is not valid UTF-8 (byte {err.object[err.start]:#04x})") from None
