"""Configuration that cannot be used is one sentence, exit code 1 and no traceback, from the
commands that need it, and never stops those that do not: WIKIQA_HOME naming a file, a ``.env``
that is not UTF-8 text, and a store timeout that is not a number (``ask`` answers from the
snapshot without the store, as it does with a bad store URL)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli import run_wikiqa

QUESTION = "When was the Collective Security Treaty signed?"


def wikiqa(cwd: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return run_wikiqa(*args, cwd=cwd, **variables)


@pytest.mark.parametrize("inside", [False, True], ids=["the-file", "a-folder-in-it"])
def test_wikiqa_home_naming_a_file_is_one_sentence(tmp_path: Path, inside: bool) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    home = blocker / "wikiqa" if inside else blocker
    result = wikiqa(tmp_path, "stats", WIKIQA_HOME=str(home))
    assert result.returncode == 1, result.stderr
    tail = f"but {blocker} is a file, not a folder" if inside else "which is a file, not a folder"
    assert result.stderr == f"error: WIKIQA_HOME is '{home}', {tail}\n"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("WIKIQA_RATE_LIMIT=5\n".encode("utf-16"), "is not UTF-8 text (byte 0xff at offset 0)"),
        (b"WIKIQA_RATE_LIMIT=5\n\x89PNG\x00\x01", "is not UTF-8 text (byte 0x89 at offset 20)"),
        (b"W\x00I\x00=\x001\x00\n\x00", "holds NUL bytes"),
    ],
    ids=["utf-16", "binary", "utf-16-without-bom"],
)
def test_a_dotenv_that_is_not_utf8_text_is_one_sentence(
    tmp_path: Path, sample_home: Path, content: bytes, reason: str
) -> None:
    (tmp_path / ".env").write_bytes(content)
    result = wikiqa(tmp_path, "ask", QUESTION, WIKIQA_HOME=str(sample_home))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {tmp_path / '.env'} {reason}")
    assert result.stderr.endswith("; save it as UTF-8\n") and result.stderr.count("\n") == 1


def test_a_bad_store_timeout_leaves_ask_working_and_stops_the_store_commands(
    tmp_path: Path, sample_home: Path
) -> None:
    asked = wikiqa(tmp_path, "ask", QUESTION, WIKIQA_HOME=str(sample_home), WIKIQA_DB_READ_TIMEOUT="abc")
    assert asked.returncode == 0, asked.stderr
    assert "May 15, 1992" in asked.stdout and asked.stderr == ""

    (tmp_path / "one.jsonl").write_text('{"article_id": "a"}\n')
    ingest = wikiqa(tmp_path, "ingest", "one.jsonl", WIKIQA_HOME=str(tmp_path), WIKIQA_DB_READ_TIMEOUT="abc")
    assert ingest.returncode == 1
    sentence = "WIKIQA_DB_READ_TIMEOUT is 'abc', which is not a number of seconds above 0"
    assert ingest.stderr == f"error: {sentence}\n"
