"""``wikiqa ingest``: the summary line, the store it writes to, exit codes 0/1/2, and errors as one
sentence without a traceback (checked once through the real console entry point)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.settings import load_settings
from retrieval.errors import SourceError
from retrieval.storage.articles import ArticleStore
from tests.paths import DATA

SUMMARY = r"^\d+ new, \d+ updated, \d+ unchanged, \d+ empty in \d+\.\d s\n$"


def invoke(*args: str):
    return CliRunner().invoke(cli, ["ingest", *args])


def articles(url: str) -> int:
    store = ArticleStore(url)
    try:
        return store.counts()[0]
    finally:
        store.close()


def test_ingesting_the_bundled_corpus_prints_one_summary_line_then_all_unchanged() -> None:
    first = invoke(str(DATA))
    assert first.exit_code == 0, first.output
    assert re.match(SUMMARY, first.stdout) and first.stdout.count("\n") == 1
    bundled = articles(load_settings().database_url)
    assert bundled >= 1 and first.stdout.startswith(f"{bundled} new, 0 updated, 0 unchanged, ")
    again = invoke(str(DATA))
    assert again.stdout.startswith(f"0 new, 0 updated, {bundled} unchanged")


def test_database_option_chooses_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    result = invoke(str(DATA / "000_ecac3c3d765524ba.txt"), "--database", url)
    assert result.exit_code == 0 and result.stdout.startswith("1 new")
    assert articles(url) == 1


def test_from_db_reads_a_live_table(tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    invoke(str(DATA), "--database", source)
    result = invoke("--from-db", source, "--table", "wiki_article")
    assert result.exit_code == 0, result.output
    assert articles(load_settings().database_url) == articles(source)


def test_skip_bad_lists_skipped_rows_on_stderr_and_commits_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"article_id": "a", "article": "A"}\nnot json\n{"article_id": "b", "article": ""}\n')
    result = invoke(str(path), "--skip-bad")
    assert result.exit_code == 0
    assert result.stderr == f"skipped: {path}, line 2: the line is not valid JSON (Expecting value)\n"
    assert result.stdout.startswith("2 new, 0 updated, 0 unchanged, 1 empty, 1 skipped in ")


def test_a_bad_source_fails_with_its_sentence_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"article_id": "a"}\nnot json\n')
    result = invoke(str(path))
    assert result.exit_code == 1
    assert isinstance(result.exception, SourceError) and result.exception.line == 2
    assert articles(load_settings().database_url) == 0


@pytest.mark.parametrize(
    "args",
    [[], ["data", "--from-db", "sqlite:///x.db"], ["data", "--table", "t"], ["--from-db"], ["--bogus"]],
)
def test_wrong_usage_exits_2(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith(("Usage:", "Error:"))


def test_help_shows_an_example() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "wikiqa ingest data/" in result.stdout
    assert "--from-db URL" in result.stdout and "--skip-bad" in result.stdout


def run_console(*args: str) -> subprocess.CompletedProcess[str]:
    """The real console entry point (bot.cli:main) in a child process."""
    code = "from bot.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "ingest", *args], capture_output=True, text=True, timeout=60
    )


def test_console_errors_are_one_sentence_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "dump.sql"
    bad.write_text("INSERT INTO wiki_article VALUES (1,'a','t','body','')\n,(2,'b','t','never closed);\n")
    result = run_console(str(bad))
    assert result.returncode == 1
    assert (
        result.stderr
        == f"error: {bad}, line 2: the file ends inside this row (a string or the row is never closed)\n"
    )
    assert "Traceback" not in result.stderr and result.stdout == ""

    missing = run_console("--from-db", "mysql+pymysql://root:secret@127.0.0.1:1/none")
    assert missing.returncode == 1 and len(missing.stderr.splitlines()) == 1
    assert "secret" not in missing.stderr and "Traceback" not in missing.stderr

    ok = run_console(str(DATA / "000_ecac3c3d765524ba.txt"))
    assert ok.returncode == 0 and ok.stdout.startswith("1 new, 0 updated")
    assert ok.stderr == ""  # not a terminal: no progress bar
