"""ingest_paths: folders, formats side by side, upsert counts, and one transaction per source file."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from retrieval.errors import SourceError
from retrieval.storage.articles import ArticleStore, UpsertCounts
from retrieval.storage.ingest import IngestReport, ingest_paths
from tests.paths import DATA
from tests.retrieval.corpus_factory import stored_articles

SEED = DATA / "000_ecac3c3d765524ba.txt"


def jsonl(path: Path, *rows: dict) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def dump(path: Path, *rows: tuple[str, str]) -> Path:
    tuples = ",".join(f"(NULL,'{a}','T','{b}','')" for a, b in rows)
    path.write_text(f"-- test dump\nINSERT INTO `wiki_article` VALUES {tuples};\n", encoding="utf-8")
    return path


@pytest.fixture
def store(sqlite_url: str):
    store = ArticleStore(sqlite_url)
    yield store
    store.close()


def stored(store: ArticleStore) -> dict[str, str | None]:
    return {a.article_id: a.article for a in stored_articles(store)}


def test_a_folder_is_walked_recursively_skipping_hidden_and_foreign_files(store, tmp_path: Path) -> None:
    shutil.copy(SEED, tmp_path / "seed.txt")
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    jsonl(tmp_path / "nested" / "a.jsonl", {"article_id": "j1", "article": "J"})
    dump(tmp_path / "nested" / "deeper" / "d.sql", ("d1", "D"))
    (tmp_path / "nested" / "c.sql.gz").write_bytes(
        gzip.compress(b"INSERT INTO wiki_article VALUES (1,'g1','T','G','');")
    )
    (tmp_path / "README.md").write_text("not an article")
    (tmp_path / ".hidden").mkdir()
    jsonl(tmp_path / ".hidden" / "x.jsonl", {"article_id": "hidden"})
    report = ingest_paths(store, [tmp_path])
    assert set(stored(store)) == {"Організація_договору_про_колективну_безпеку", "j1", "d1", "g1"}
    assert (report.counts.new, report.counts.total) == (4, 4)


def test_reingesting_counts_new_updated_unchanged_and_empty(store, tmp_path: Path) -> None:
    first = ingest_paths(store, [dump(tmp_path / "a.sql", ("a", "A"), ("b", "B"), ("e", ""))])
    assert (first.counts.new, first.counts.empty) == (3, 1)
    again = ingest_paths(store, [dump(tmp_path / "a.sql", ("a", "A"), ("b", "B2"), ("e", ""), ("c", "C"))])
    assert (again.counts.new, again.counts.updated, again.counts.unchanged, again.counts.empty) == (
        1,
        1,
        2,
        1,
    )
    assert stored(store) == {"a": "A", "b": "B2", "e": "", "c": "C"}
    assert store.counts() == (4, 1)


def test_the_summary_is_one_line_with_every_count() -> None:
    report = IngestReport(UpsertCounts(new=3, updated=1, unchanged=47, empty=2), [], 0.42)
    assert report.summary() == "3 new, 1 updated, 47 unchanged, 2 empty in 0.4 s"
    report.skipped.append(SourceError("a.sql", "bad", 3))
    assert report.summary() == "3 new, 1 updated, 47 unchanged, 2 empty, 1 skipped in 0.4 s"


def test_a_bad_file_writes_nothing_of_itself_but_keeps_the_files_before_it(store, tmp_path: Path) -> None:
    good = dump(tmp_path / "1.sql", ("a", "A"))
    bad = tmp_path / "2.sql"
    bad.write_text("INSERT INTO wiki_article VALUES (1,'b','T','B',''),\n(2,'c','T','unterminated,'');\n")
    with pytest.raises(SourceError, match=r"2\.sql, line 2: the file ends inside this row"):
        ingest_paths(store, [good, bad])
    assert stored(store) == {"a": "A"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "dup.jsonl",
            b'{"article_id": "a"}\n{"article_id": "b"}\n{"article_id": "a"}\n',
            "line 3: article_id 'a' appears twice",
        ),
        ("bin.sql", b"\x00\x01\x02\x03", "binary"),
        (
            "trunc.sql.gz",
            gzip.compress(b"INSERT INTO wiki_article VALUES (1,'a','t','b','');" * 500)[:-30],
            "truncated",
        ),
        (
            "utf.jsonl",
            b'{"article_id": "a"}\n{"article_id": "\xff"}\n',
            "line 2: the line is not valid UTF-8",
        ),
    ],
)
def test_each_kind_of_bad_file_is_one_sentence_and_writes_nothing(
    store, tmp_path: Path, name, content, message
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceError) as raised:
        ingest_paths(store, [path])
    assert message in str(raised.value) and str(raised.value).startswith(str(path))
    assert "\n" not in str(raised.value)
    assert store.counts() == (0, 0)


def test_paths_are_all_checked_before_anything_is_written(store, tmp_path: Path) -> None:
    good = dump(tmp_path / "1.sql", ("a", "A"))
    with pytest.raises(SourceError, match=r"missing\.sql: no such file"):
        ingest_paths(store, [good, tmp_path / "missing.sql"])
    with pytest.raises(SourceError, match=r"notes\.csv: is not a supported file type"):
        (tmp_path / "notes.csv").write_text("a,b")
        ingest_paths(store, [good, tmp_path / "notes.csv"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="no files to ingest"):
        ingest_paths(store, [good, empty])
    assert store.counts() == (0, 0)


def test_skip_bad_lists_the_bad_rows_and_commits_the_rest(store, tmp_path: Path) -> None:
    path = tmp_path / "mixed.sql"
    path.write_text(
        "INSERT INTO wiki_article VALUES (1,'a','T','A',''),\n(2,'b','T','bad \\q',''),\n"
        "(3,'a','T','again',''),\n(4,'c','T','C','');\n"
    )
    report = ingest_paths(store, [path], skip_bad=True)
    assert stored(store) == {"a": "A", "c": "C"}
    assert [(e.line, e.message) for e in report.skipped] == [
        (2, "article holds the broken escape \\q"),
        (3, "article_id 'a' appears twice in this source"),
    ]
    assert report.counts.skipped == 2 and report.summary().startswith(
        "2 new, 0 updated, 0 unchanged, 0 empty, 2 skipped"
    )


def test_progress_is_reported_in_articles(store, tmp_path: Path) -> None:
    rows = [{"article_id": f"a{i}", "article": "x"} for i in range(600)]
    seen: list[int] = []
    ingest_paths(store, [jsonl(tmp_path / "many.jsonl", *rows)], on_progress=seen.append)
    assert sum(seen) == 600 and len(seen) > 1


def test_skip_bad_passes_over_an_unreadable_file_and_ingests_the_others(store, tmp_path: Path) -> None:
    (tmp_path / "1.sql").write_bytes(b"\x00\x01 binary")
    dump(tmp_path / "2.sql", ("a", "A"))
    report = ingest_paths(store, [tmp_path], skip_bad=True)
    assert stored(store) == {"a": "A"}
    assert len(report.skipped) == 1 and "binary" in str(report.skipped[0])
