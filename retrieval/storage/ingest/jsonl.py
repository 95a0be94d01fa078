"""JSON Lines: one article per line, an object keyed by the table's columns.

``article_id`` is required; ``title``, ``article`` and ``img_url`` may be missing (NULL) or null;
``id`` and unknown keys are ignored. Blank lines are allowed. BEIR corpus lines (``_id``,
``title``, ``text``) are read as articles too, since evaluation corpora come in that form.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import BinaryIO

from retrieval.errors import SourceError
from retrieval.storage.ingest.rows import MAX_ROW_BYTES, BadRow, record_from_row
from retrieval.storage.records import ArticleRecord

# Pieces of an overlong line are read and dropped this many bytes at a time.
_SKIP_CHUNK = 1 << 20


def read_jsonl(
    stream: BinaryIO, source: str, on_bad: Callable[[SourceError], None]
) -> Iterator[ArticleRecord]:
    """The records of a JSONL file, a bad line reported to ``on_bad`` and skipped if it returns.

    A line is read up to :data:`~retrieval.storage.ingest.rows.MAX_ROW_BYTES`; a longer one is
    reported and passed over in pieces, never held whole.
    """
    number = 0
    while raw := stream.readline(MAX_ROW_BYTES + 1):
        number += 1
        if len(raw) > MAX_ROW_BYTES and not raw.endswith(b"\n"):
            del raw  # before reading on: only one piece of the line is held at a time
            on_bad(SourceError(source, f"the line is longer than {MAX_ROW_BYTES >> 20} MB", number))
            _skip_rest_of_line(stream)
            continue
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
            if not isinstance(row, dict):
                raise BadRow(f"the line holds a JSON {type(row).__name__}, not an object")
            yield record_from_row(_as_table_row(row), f"{source}:{number}")
        except UnicodeDecodeError as err:
            on_bad(SourceError(source, f"the line is not valid UTF-8 (byte {raw[err.start]:#04x})", number))
        except json.JSONDecodeError as err:
            reason = (
                "the line is cut off"
                if not raw.endswith(b"\n")
                else f"the line is not valid JSON ({err.msg})"
            )
            on_bad(SourceError(source, reason, number))
        except RecursionError:
            on_bad(SourceError(source, "the line nests JSON arrays or objects too deeply to read", number))
        except BadRow as err:
            on_bad(SourceError(source, str(err), number))


def _skip_rest_of_line(stream: BinaryIO) -> None:
    while (piece := stream.readline(_SKIP_CHUNK)) and not piece.endswith(b"\n"):
        pass


def _as_table_row(row: dict) -> dict:
    if "article_id" not in row and "_id" in row:
        return {"article_id": row["_id"], "title": row.get("title"), "article": row.get("text")}
    return row
