"""``wikiqa ask`` with bytes that are not UTF-8, in an argument or on stdin: they are read as
U+FFFD, so the question is answered and nothing downstream (tokenizers, terminal, JSON) meets the
surrogate escapes Python hands such bytes on as."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli


def test_an_argument_that_is_not_utf8_is_answered_as_replacement_characters(sample_home: Path) -> None:
    env = {**os.environ, "WIKIQA_HOME": str(sample_home), "LC_ALL": "C.UTF-8"}
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "ask", "--json", b"\xff\xfe treaty"],
        capture_output=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stderr == b""
    assert json.loads(result.stdout)["question"] == "\ufffd\ufffd treaty"


def test_the_terminal_answer_to_such_an_argument_is_printed(ready: Path) -> None:
    result = CliRunner().invoke(cli, ["ask", "\udcff\udcfe Collective Security Treaty"])
    assert result.exit_code == 0, result.output
    assert "Answer:" in result.stdout


def test_stdin_lines_that_are_not_utf8_are_answered_one_by_one(ready: Path) -> None:
    stdin = b"\xff\xfe treaty\nWhen was the Collective Security Treaty signed?\n\xc3\x28\n"
    result = CliRunner().invoke(cli, ["ask", "--json", "-"], input=stdin)
    assert result.exit_code == 0, result.output
    questions = [json.loads(line)["question"] for line in result.stdout.splitlines()]
    assert questions == [
        "\ufffd\ufffd treaty",
        "When was the Collective Security Treaty signed?",
        "\ufffd(",
    ]
