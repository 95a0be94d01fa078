"""Seed-style text files: title and date lines dropped, paragraphs kept, the INSERT row parsed as SQL."""

from __future__ import annotations

import io

import pytest

from retrieval.errors import SourceError
from retrieval.storage.ingest.seedtext import read_seed
from retrieval.storage.records import ArticleRecord
from tests.paths import SEED

INSERT = (
    "INSERT INTO `wiki_article`(`id`, `article_id`, `title`, `article`, `img_url`) VALUES "
    "('NULL()','{article_id}','Title from SQL','','{img}')"
)


def seed_text(body: str, article_id: str = "Київ", img: str = "") -> bytes:
    return (
        f"Kyiv\n\n\nJanuary 22, 2022\n\n{body}\n\n{INSERT.format(article_id=article_id, img=img)}\n".encode()
    )


def read(data: bytes, on_bad=None) -> list[ArticleRecord]:
    def fail(error: SourceError) -> None:
        raise error

    return list(read_seed(io.BytesIO(data), "seed.txt", on_bad or fail))


def test_the_bundled_seed_becomes_its_body_with_the_rows_columns() -> None:
    [record] = read(SEED.read_bytes())
    assert record.article_id == "Організація_договору_про_колективну_безпеку"
    assert record.title == "Organization of a collective security agreement"
    assert record.img_url == ""
    paragraphs = record.article.split("\n\n")
    assert paragraphs[0].startswith("The Collective Security Treaty Organization (CSTO")
    assert paragraphs[1] == "Key Features"
    assert paragraphs[2].startswith("According to official Russian documents")
    assert len(paragraphs) == 3
    assert "January 22, 2022" not in record.article and "INSERT" not in record.article


def test_blank_line_runs_become_one_paragraph_break_and_inner_lines_stay() -> None:
    [record] = read(seed_text("First paragraph\nstill first.\n\n\n\nHeading\n\nLast one.  "))
    assert record.article == "First paragraph\nstill first.\n\nHeading\n\nLast one."


def test_sql_escapes_in_the_row_are_undone_and_the_origin_names_the_insert_line() -> None:
    [record] = read(seed_text("Body.", article_id="Об\\'єднані_нації", img="a\\\\b.png"))
    assert record.article_id == "Об'єднані_нації" and record.img_url == "a\\b.png"
    assert record.origin == "seed.txt:8"


def test_crlf_line_endings_and_a_bom_are_accepted() -> None:
    data = b"\xef\xbb\xbf" + seed_text("One.\n\nTwo.").replace(b"\n", b"\r\n")
    assert read(data)[0].article == "One.\n\nTwo."


@pytest.mark.parametrize(
    ("data", "message", "line"),
    [
        (b"Kyiv\n\nJanuary 22, 2022\n\nBody without a row.\n", "has no INSERT INTO wiki_article row", None),
        (
            b"Kyiv\n\nJanuary 22, 2022\n\nBody.\n\nINSERT INTO `wiki_article` VALUES ('NULL()','a','t',",
            "ends",
            7,
        ),
        (seed_text("Body.").replace(b"'Title from SQL'", b"'Title'',"), "ends inside this row", 8),
        (
            b"Kyiv\n\nNot a date line, as it is far too long to be one\n\nINSERT INTO x VALUES (1)",
            "date line",
            3,
        ),
        (b"Kyiv\n\nJanuary 22, 2022\n\n\xff\xfe broken\n", "not valid UTF-8", 5),
        (b"Kyiv\n\x00\x01\x02binary", "NUL bytes", 2),
        (seed_text("Body.").replace(b"VALUES (", b"VALUES (1,'x','t','','')", 1), "after a row", 8),
    ],
)
def test_a_bad_seed_file_is_refused_with_its_line(data: bytes, message: str, line: int | None) -> None:
    with pytest.raises(SourceError) as raised:
        read(data)
    assert message in str(raised.value)
    assert raised.value.line == line


def test_a_seed_file_holds_one_article() -> None:
    two = seed_text("Body.").rstrip(b"\n") + b",('NULL()','b','t','','')\n"
    with pytest.raises(SourceError, match="holds 2 rows"):
        read(two)
