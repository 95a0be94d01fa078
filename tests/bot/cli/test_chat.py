"""``wikiqa chat``: questions, 'more', and leaving, through piped stdin and through a real pty."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli

QUESTION = "When was the Collective Security Treaty signed?"
WIKIQA = Path(sys.executable).with_name("wikiqa")


def chat(stdin: str, *args: str):
    return CliRunner().invoke(cli, ["chat", *args], input=stdin)


def test_answers_each_line_and_more_shows_the_next_quotes(ready):
    result = chat(f"{QUESTION}\nmore\n", "-k", "2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.count("Answer: ") == 1
    assert "May 15, 1992" in out
    assert "[1] " in out and "[2] " in out
    assert "[3] " in out and "[4] " in out  # the second page, numbered on


def test_quit_leaves_before_later_lines(ready):
    result = chat(f"quit\n{QUESTION}\n")
    assert result.exit_code == 0
    assert "Answer:" not in result.stdout


def test_end_of_input_leaves_cleanly(ready):
    result = chat(QUESTION)  # no trailing newline, then EOF
    assert result.exit_code == 0
    assert "May 15, 1992" in result.stdout


def test_more_before_any_question_and_past_the_last_page_explains(ready):
    result = chat("more\nTashkent\n" + "more\n" * 12)
    assert result.exit_code == 0
    assert "Ask a question first." in result.stdout
    assert "No further quotes." in result.stdout


def _read_until(fd: int, marker: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {marker!r}; got {seen[-500:]!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_interactive_session_on_a_terminal_with_prompt_history_and_ctrl_d(ready):
    main, child = pty.openpty()
    env = {**os.environ, "WIKIQA_HOME": str(ready), "TERM": "dumb", "COLUMNS": "120"}
    proc = subprocess.Popen(
        [str(WIKIQA), "chat"], stdin=child, stdout=child, stderr=child, env=env, close_fds=True
    )
    os.close(child)
    try:
        _read_until(main, b"? ")
        os.write(main, QUESTION.encode() + b"\r")
        shown = _read_until(main, b"? ")
        assert b"May 15, 1992" in shown
        os.write(main, b"\x04")  # Ctrl-D at an empty prompt
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    history = (ready / "chat_history").read_text()
    assert QUESTION in history


def test_a_follow_up_keeps_the_subject_and_says_so(ready):
    result = chat("What is the Shanghai Cooperation Organisation?\nWhen was it founded?\n", "-k", "1")
    assert result.exit_code == 0, result.output
    follow_up = result.stdout.split("(about Shanghai Cooperation Organisation)")[1]
    assert "Answer: On June 15, 2001" in follow_up
    assert "[1] Shanghai Cooperation Organisation" in follow_up


def test_new_and_clear_start_afresh_instead_of_being_asked(ready):
    alone = chat("When was it founded?\n", "-k", "1").stdout
    for word in ("new", "clear"):
        result = chat(
            f"What is the Shanghai Cooperation Organisation?\n{word}\nWhen was it founded?\n", "-k", "1"
        )
        assert result.exit_code == 0
        assert "Starting afresh" in result.stdout
        assert result.stdout.split("Starting afresh: ask about anything.\n")[1] == alone


def test_greetings_get_a_short_reply_with_examples_not_quotes(ready):
    result = chat("hi\nпривіт\n")
    assert result.exit_code == 0
    assert "Answer:" not in result.stdout and "<script>" not in result.stdout
    assert "Hello! I answer questions" in result.stdout
    assert "Я відповідаю на запитання" in result.stdout
    assert "What is the Collective Security Treaty Organization?" in result.stdout
