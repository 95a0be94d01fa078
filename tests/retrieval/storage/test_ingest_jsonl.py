"""JSON Lines: one article per line, keyed by the table's columns, values kept as given."""

from __future__ import annotations

import io
import json

import pytest

from retrieval.errors import SourceError
from retrieval.storage.ingest.jsonl import read_jsonl
from retrieval.storage.records import ArticleRecord


def read(data: bytes, on_bad=None) -> list[ArticleRecord]:
    def fail(error: SourceError) -> None:
        raise error

    return list(read_jsonl(io.BytesIO(data), "a.jsonl", on_bad or fail))


def test_columns_are_read_missing_ones_are_null_and_blank_lines_pass() -> None:
    lines = [
        {"id": 7, "article_id": "Київ", "title": "Kyiv", "article": "One 🇺🇦\n\nTwo", "img_url": ""},
        {"article_id": 42, "article": "", "extra": "ignored"},
    ]
    data = ("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n\n").encode()
    records = read(data)
    assert [(r.article_id, r.title, r.article, r.img_url) for r in records] == [
        ("Київ", "Kyiv", "One 🇺🇦\n\nTwo", ""),
        ("42", None, "", None),
    ]
    assert records[1].origin == "a.jsonl:2"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"article_id": "a", "title": "t"', "cut off"),
        (b'{"article_id": "a", "title": }\n', "not valid JSON"),
        (b'["a", "t"]\n', "JSON list, not an object"),
        (b'{"title": "t"}\n', "has no article_id"),
        (b'{"article_id": ""}\n', "article_id is empty"),
        (b'{"article_id": "a", "article": {"x": 1}}\n', "article must be text or NULL"),
        (b'{"article_id": "a", "title": "\xc3\x28"}\n', "not valid UTF-8"),
    ],
)
def test_a_bad_line_is_named_and_can_be_skipped(line: bytes, message: str) -> None:
    data = b'{"article_id": "ok1"}\n' + line
    with pytest.raises(SourceError) as raised:
        read(data)
    assert message in str(raised.value) and raised.value.line == 2
    skipped: list[SourceError] = []
    assert [r.article_id for r in read(data + b'\n{"article_id": "ok2"}\n', skipped.append)] == ["ok1", "ok2"]
    assert len(skipped) == 1


def test_a_byte_order_mark_on_the_first_line_is_accepted() -> None:
    assert read('\ufeff{"article_id": "a"}\n'.encode())[0].article_id == "a"


def test_beir_corpus_lines_are_read_as_articles() -> None:
    line = {"_id": "4983", "title": "Brain growth", "text": "Alterations of white matter.", "metadata": {}}
    (record,) = read(json.dumps(line).encode() + b"\n")
    assert (record.article_id, record.title, record.article, record.img_url) == (
        "4983",
        "Brain growth",
        "Alterations of white matter.",
        None,
    )
