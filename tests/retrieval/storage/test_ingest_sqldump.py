"""The streaming mysqldump tokenizer: every construct dumps contain, cut at every chunk boundary."""

from __future__ import annotations

import io

import pytest

from retrieval.errors import SourceError
from retrieval.storage.ingest import sqldump
from retrieval.storage.records import ArticleRecord

HEADER = """/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB
--
-- Host: 127.0.0.1    Database: wiki
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET TIME_ZONE='+00:00' */;

--
-- Table structure for table `other`
--

DROP TABLE IF EXISTS `other`;
CREATE TABLE `other` (
  `k` int(11) DEFAULT NULL,
  `v` blob DEFAULT NULL COMMENT 'not; a) wiki_article'
) ENGINE=InnoDB;
LOCK TABLES `other` WRITE;
INSERT INTO `other` VALUES (1,'\\0\xff raw bytes'),(2,0x00FF),(3,b'0101'),(4,_binary 'x;y');
UNLOCK TABLES;
DROP TABLE IF EXISTS `wiki_article`;
CREATE TABLE `wiki_article` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `article_id` varchar(255) NOT NULL,
  `title` varchar(255) NOT NULL COMMENT 'shown, (with parens), first',
  `article` mediumtext NOT NULL,
  `img_url` varchar(1024) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uk` (`article_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
LOCK TABLES `wiki_article` WRITE;
/*!40000 ALTER TABLE `wiki_article` DISABLE KEYS */;
"""

FOOTER = """/*!40000 ALTER TABLE `wiki_article` ENABLE KEYS */;
UNLOCK TABLES;
DELIMITER ;;
/*!50003 CREATE*/ /*!50003 TRIGGER t BEFORE INSERT ON wiki_article FOR EACH ROW BEGIN SET NEW.a = 'a;b'; END
*/;;
DELIMITER ;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;

-- Dump completed on 2026-11-27 16:02:24
"""

ROWS = [
    ("Kyiv", "Київ", "Line one\nline 'two' \\ with \"quotes\"; (and) parens 🇺🇦\ttab\r\x00\x1a\x08 end", None),
    ("O'Brien", "It's", "", ""),
    ("100%_sure", "a\\%b\\_c", "multi\nline\n\nparagraphs", "https://example.org/a.jpg"),
]


def escape(text: str) -> str:
    """How mysqldump writes a string literal."""
    table = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
    table |= {"\x1a": "\\Z", "\x08": "\\b"}
    return "'" + "".join(table.get(c, c) for c in text) + "'"


def sql_value(value: str | None) -> str:
    return "NULL" if value is None else escape(value)


def extended_dump() -> bytes:
    tuples = ",\n".join(
        f"({n},{escape(a)},{escape(t)},{escape(b)},{sql_value(i)})" for n, (a, t, b, i) in enumerate(ROWS, 1)
    )
    return (HEADER + f"INSERT INTO `wiki_article` VALUES\n{tuples};\n" + FOOTER).encode(
        "utf-8", "surrogateescape"
    )


def read(data: bytes, on_bad=None, **kwargs) -> list[ArticleRecord]:
    def fail(error: SourceError) -> None:
        raise error

    return list(sqldump.read_dump(io.BytesIO(data), "dump.sql", on_bad or fail, **kwargs))


def values(records: list[ArticleRecord]) -> list[tuple]:
    return [(r.article_id, r.title, r.article, r.img_url) for r in records]


# The expected values: \% and \_ keep their backslash, as MySQL does.
EXPECTED = [(a, t.replace("\\\\", "\\"), b, i) for a, t, b, i in ROWS]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7, 16, 61, 4 << 20])
def test_extended_dump_reads_the_same_at_every_chunk_size(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(sqldump, "CHUNK", chunk)
    assert values(read(extended_dump())) == EXPECTED


def test_rows_carry_the_line_they_start_on() -> None:
    records = read(extended_dump())
    lines = extended_dump().decode("utf-8", "surrogateescape").splitlines()
    for record in records:
        line = int(record.origin.rsplit(":", 1)[1])
        assert lines[line - 1].startswith(f"({records.index(record) + 1},")


def test_one_row_inserts_with_column_lists_in_any_order() -> None:
    statements = "".join(
        f"INSERT INTO `wiki_article` (`img_url`, `title`, `article_id`, `article`, `id`) "
        f"VALUES ({sql_value(i)},{escape(t)},{escape(a)},{escape(b)},{n});\n"
        for n, (a, t, b, i) in enumerate(ROWS, 1)
    )
    assert values(read((HEADER + statements + FOOTER).encode())) == EXPECTED


def test_insert_without_column_list_follows_create_table_order() -> None:
    dump = (
        "CREATE TABLE wiki_article (img_url text, article_id varchar(9), `id` int, title text, "
        "article text, KEY k (article_id), CONSTRAINT c CHECK (id > 0));\n"
        "INSERT INTO wiki_article VALUES ('i.png','a1',7,'T','Body');\n"
    )
    assert values(read(dump.encode())) == [("a1", "T", "Body", "i.png")]


def test_insert_without_column_list_or_create_table_uses_the_wiki_article_order() -> None:
    dump = "insert into wiki_article values (NULL,'a1','T','Body',NULL), (2 , 'a2' , NULL , 'B2' , '' ) ;"
    assert values(read(dump.encode())) == [("a1", "T", "Body", None), ("a2", None, "B2", "")]


def test_strings_full_of_sql_syntax_stay_text() -> None:
    body = "'); DROP TABLE wiki_article; -- /* not a comment */ # nor this\n),(9,'x'"
    dump = f"INSERT INTO wiki_article VALUES (1,'a',{escape('t;')},{escape(body)},'');\n"
    assert read(dump.encode())[0].article == body


def test_doubled_quotes_and_every_escape_are_undone() -> None:
    dump = r"INSERT INTO wiki_article VALUES (1,'a','It''s','\0\'\"\b\n\r\t\Z\\\%\_''','');"
    assert read(dump.encode())[0].title == "It's"
    assert read(dump.encode())[0].article == "\0'\"\b\n\r\t\x1a\\\\%\\_'"


def test_a_string_with_literal_newlines_spans_lines_and_later_rows_keep_their_line() -> None:
    dump = "INSERT INTO wiki_article VALUES\n(1,'a','t','one\ntwo\nthree',''),\n(2,'b','t','x','');\n"
    records = read(dump.encode())
    assert records[0].article == "one\ntwo\nthree"
    assert records[1].origin == "dump.sql:5"


def test_introducers_numbers_and_null_are_understood() -> None:
    dump = "INSERT INTO wiki_article VALUES (1, 42, _utf8mb4'T', _binary 'B', NULL);"
    assert values(read(dump.encode())) == [("42", "T", "B", None)]


def test_rows_of_other_tables_and_qualified_names_are_told_apart() -> None:
    dump = (
        "INSERT INTO `wiki`.`wiki_article` VALUES (1,'a','t','b','');\n"
        "INSERT INTO wiki_article_old VALUES (1,'old','t','b','');\n"
        "REPLACE INTO `wiki_article` VALUES (2,'c','t','d','');\n"
    )
    assert [r.article_id for r in read(dump.encode())] == ["a", "c"]


def test_a_gzip_stream_reads_like_the_plain_one(tmp_path) -> None:
    import gzip

    from retrieval.storage.ingest import read_path

    path = tmp_path / "dump.sql.gz"
    path.write_bytes(gzip.compress(extended_dump()))
    assert values(list(read_path(path, on_bad=lambda e: (_ for _ in ()).throw(e)))) == EXPECTED


def test_a_dump_without_the_table_is_refused() -> None:
    with pytest.raises(SourceError, match="no CREATE TABLE or INSERT for table wiki_article"):
        read(b"CREATE TABLE other (a int);\nINSERT INTO other VALUES (1);\n")


def test_a_dump_of_an_empty_table_yields_nothing() -> None:
    assert read(b"CREATE TABLE `wiki_article` (`id` int, `article_id` text);\n") == []


# --- bad input ------------------------------------------------------------------------------------

BAD_ROWS = {
    "unterminated": (
        "INSERT INTO wiki_article VALUES (1,'a','t','never closed,'');\n",
        "ends inside this row",
        1,
    ),
    "column count": ("INSERT INTO wiki_article VALUES\n(1,'a','t','b');\n", "4 values for 5 columns", 2),
    "broken escape": (
        "INSERT INTO wiki_article VALUES (1,'a','t',\n'bad \\q escape','');\n",
        "broken escape \\q",
        2,
    ),
    "utf-8": (
        b"INSERT INTO wiki_article VALUES (1,'a','t','\xc3\x28','');\n",
        "article is not valid UTF-8",
        1,
    ),
    "null id": ("INSERT INTO wiki_article VALUES (1,NULL,'t','b','');\n", "has no article_id", 1),
    "hex value": ("INSERT INTO wiki_article VALUES (1,'a',0x41,'b','');\n", "title holds 0x41", 1),
}


@pytest.mark.parametrize("case", BAD_ROWS)
def test_a_bad_row_names_the_line_and_what_is_wrong(case: str) -> None:
    text, message, line = BAD_ROWS[case]
    data = text if isinstance(text, bytes) else text.encode()
    with pytest.raises(SourceError) as raised:
        read(data)
    assert message in str(raised.value)
    assert raised.value.line == line
    assert str(raised.value).startswith(f"dump.sql, line {line}: ")


@pytest.mark.parametrize("case", [c for c in BAD_ROWS if c != "unterminated"])
def test_skipping_a_bad_row_keeps_the_rows_around_it(case: str) -> None:
    text, _, _ = BAD_ROWS[case]
    data = text if isinstance(text, bytes) else text.encode()
    bad_values = data.split(b"VALUES", 1)[1].strip().rstrip(b";")
    dump = (
        b"INSERT INTO wiki_article VALUES (1,'first','t','b','')," + bad_values + b",(3,'last','t','b','');"
    )
    skipped: list[SourceError] = []
    assert [r.article_id for r in read(dump, on_bad=skipped.append)] == ["first", "last"]
    assert len(skipped) == 1


def test_a_truncated_dump_keeps_complete_rows_only_when_skipping() -> None:
    whole = extended_dump()
    cut = whole[: whole.index(b",\n(3,") + 20]
    with pytest.raises(SourceError, match="ends inside this row"):
        read(cut)
    skipped: list[SourceError] = []
    assert len(read(cut, on_bad=skipped.append)) == 2
    assert len(skipped) == 1


def test_a_dump_cut_between_rows_is_refused() -> None:
    whole = extended_dump()
    with pytest.raises(SourceError, match="ends inside an INSERT statement"):
        read(whole[: whole.index(b",\n(3,")])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL bytes"),
        (b"INSERT INTO wiki_article VALUES (1,'a','t','b','')\n\x00;", "NUL bytes"),
        (b'{"article_id": "a"}\n', "expected an SQL statement"),
        (b"INSERT INTO wiki_article VALUES (1,'a' 'b','t','b','');", "expected ',' or ')' after a value"),
        (b"INSERT INTO wiki_article VALUES (1,'a','t','b','') (2);", "expected ',' or ';' after a row"),
        (b"INSERT INTO wiki_article VALUES 1,'a';", "expected '(' to start a row"),
        (b"INSERT INTO wiki_article VALUES (1,,'t','b','');", "expected a value"),
        (b"/* never closed", "comment is never closed"),
        (b"CREATE TABLE wiki_article (id int", "ends inside a statement"),
        (b"INSERT INTO wiki_article (id, title) VALUES (1, 't');", "has no article_id column"),
    ],
)
def test_input_that_is_not_a_dump_stops_with_its_line(data: bytes, message: str) -> None:
    with pytest.raises(SourceError) as raised:
        read(data, on_bad=lambda error: None)
    assert message in str(raised.value)


def test_a_value_larger_than_the_cap_is_refused_not_buffered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqldump, "CHUNK", 64)
    monkeypatch.setattr(sqldump, "MAX_ROW_BYTES", 1000)
    data = b"INSERT INTO wiki_article VALUES (1,'a','t','" + b"x" * 5000 + b"','');"
    with pytest.raises(SourceError, match="longer than"):
        read(data)


def test_the_buffer_stays_bounded_however_long_the_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are consumed as they are read: a 2 MB dump goes through a 64 KB cap on pending input."""
    monkeypatch.setattr(sqldump, "CHUNK", 4096)
    monkeypatch.setattr(sqldump, "MAX_ROW_BYTES", 64 << 10)
    row = "(NULL,'a{n}','T','" + "x" * 1000 + "','')"
    statements = "".join(
        "INSERT INTO wiki_article VALUES " + ",".join(row.format(n=s * 100 + r) for r in range(100)) + ";\n"
        for s in range(20)
    )
    assert len(read(statements.encode())) == 2000


def test_on_duplicate_key_update_and_a_custom_delimiter_end_the_statement() -> None:
    dump = (
        "INSERT INTO wiki_article VALUES (1,'a','t','b','') ON DUPLICATE KEY UPDATE title = 'x;y';\n"
        "DELIMITER $$\nINSERT INTO wiki_article VALUES (2,'c','t','d','')$$\nSET @a = ';'$$\nDELIMITER ;\n"
        "INSERT INTO wiki_article VALUES (3,'e','t','f','');\n"
    )
    assert [r.article_id for r in read(dump.encode())] == ["a", "c", "e"]


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted() -> None:
    dump = "\ufeff-- saved on Windows\r\nINSERT INTO wiki_article VALUES\r\n(1,'a','t','b\\r\\n','');\r\n"
    [record] = read(dump.encode("utf-8"))
    assert (record.article_id, record.article, record.origin) == ("a", "b\r\n", "dump.sql:3")
