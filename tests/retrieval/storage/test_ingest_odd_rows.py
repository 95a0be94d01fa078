"""Rows that a database would refuse, or that would stop a reader, are bad rows like any other:
named by file and line, rolled back with their source, skipped with ``skip_bad``, and the same on
SQLite, MariaDB and PostgreSQL. A line too long is refused without being held in memory."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from pathlib import Path

import pytest

from retrieval.errors import SourceError
from retrieval.storage.articles import ArticleStore
from retrieval.storage.ingest import ingest_paths, jsonl
from retrieval.storage.ingest.jsonl import read_jsonl
from retrieval.storage.records import MAX_ARTICLE_ID_CHARS
from tests.retrieval.corpus_factory import stored_articles

GOOD = {"article_id": "Lviv", "title": "Lviv", "article": "Lviv is a city."}

ODD_ROWS = {
    # a JSON escape of half a UTF-16 pair: valid JSON, but no database can encode it
    "lone surrogate": ('{"article_id": "a", "title": "\\ud800 x"}', "title holds a lone surrogate (U+D800)"),
    "NUL": ('{"article_id": "a", "article": "x\\u0000y"}', "article holds a NUL character"),
    "long id": (
        json.dumps({"article_id": "x" * (MAX_ARTICLE_ID_CHARS + 45)}),
        "article_id is 300 characters long; the store keeps at most 255",
    ),
    "deep nesting": ('{"article_id": "a", "title": ' + "[" * 100_000 + "]" * 100_000 + "}", "too deeply"),
}


def write_jsonl(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", ODD_ROWS)
def test_a_row_no_database_would_take_is_a_bad_row_on_every_backend(
    case: str, store_url: str, tmp_path: Path
) -> None:
    line, message = ODD_ROWS[case]
    path = write_jsonl(tmp_path / "odd.jsonl", json.dumps(GOOD), line)
    store = ArticleStore(store_url)
    try:
        with pytest.raises(SourceError) as raised:
            ingest_paths(store, [path])
        assert str(raised.value).startswith(f"{path}, line 2: ")
        assert message in str(raised.value)
        assert store.counts() == (0, 0)  # the source was rolled back

        report = ingest_paths(store, [path], skip_bad=True)
        assert [str(e) for e in report.skipped] == [str(raised.value)]
        assert [a.article_id for a in stored_articles(store)] == ["Lviv"]
    finally:
        store.close()


def test_ids_differing_only_in_surrounding_spaces_are_one_article_on_every_backend(
    store_url: str, tmp_path: Path
) -> None:
    """MariaDB compares "Kyiv " equal to "Kyiv"; ids are stripped, so every backend agrees."""
    path = write_jsonl(
        tmp_path / "kyiv.jsonl",
        json.dumps({"article_id": "Kyiv", "article": "Capital."}),
        json.dumps({"article_id": "Kyiv ", "article": "Capital, again."}),
    )
    store = ArticleStore(store_url)
    try:
        with pytest.raises(SourceError, match=r"kyiv.jsonl, line 2: article_id 'Kyiv' appears twice"):
            ingest_paths(store, [path])
        report = ingest_paths(store, [path], skip_bad=True)
        assert (report.counts.new, len(report.skipped)) == (1, 1)
        again = ingest_paths(store, [write_jsonl(tmp_path / "b.jsonl", '{"article_id": " Kyiv "}')])
        assert (again.counts.new, again.counts.updated) == (0, 1)
        assert [a.article_id for a in stored_articles(store)] == ["Kyiv"]
    finally:
        store.close()


def test_a_line_longer_than_the_cap_is_refused_without_being_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small gzip file that unpacks to one huge line (the cap made 1 MB here, the line 8 MB):
    the reader holds one piece of it at a time, and reads on after it with ``skip_bad``."""
    monkeypatch.setattr(jsonl, "MAX_ROW_BYTES", 1 << 20)
    path = tmp_path / "bomb.jsonl.gz"
    with gzip.open(path, "wb") as out:
        out.write(json.dumps(GOOD).encode() + b"\n" + b'{"article_id": "x", "article": "')
        for _ in range(64):
            out.write(b"a" * (128 << 10))
        out.write(b'"}\n' + json.dumps({"article_id": "Odesa"}).encode() + b"\n")
    assert path.stat().st_size < 100_000

    skipped: list[SourceError] = []
    tracemalloc.start()
    try:
        with gzip.open(path, "rb") as stream:
            ids = [r.article_id for r in read_jsonl(stream, str(path), skipped.append)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ids == ["Lviv", "Odesa"]
    assert [str(e) for e in skipped] == [f"{path}, line 2: the line is longer than 1 MB"]
    assert peak < 4 << 20  # a piece or two of the line, never the 8 MB of it

    with gzip.open(path, "rb") as stream, pytest.raises(SourceError, match="line 2: the line is longer"):
        list(read_jsonl(stream, str(path), _raise))


def _raise(error: SourceError) -> None:
    raise error


def test_deep_nesting_is_named_by_the_reader() -> None:
    line = ODD_ROWS["deep nesting"][0].encode() + b"\n"
    with pytest.raises(SourceError, match=r"a.jsonl, line 1: the line nests JSON .* too deeply"):
        list(read_jsonl(io.BytesIO(line), "a.jsonl", _raise))
