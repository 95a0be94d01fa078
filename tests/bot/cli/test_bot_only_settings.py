"""Settings only the bot reads (WIKIQA_RATE_LIMIT, WIKIQA_ADMIN_IDS) never break the other
commands; ``wikiqa serve`` refuses a bad one with one sentence naming the variable, exit code 1."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.bot.telegram.test_serve_cli import free_port
from tests.cli import run_wikiqa

QUESTION = "When was the Collective Security Treaty signed?"
BAD = {
    "WIKIQA_RATE_LIMIT": (
        "abc",
        "error: WIKIQA_RATE_LIMIT is 'abc', which is not a whole number of 0 or more\n",
    ),
    "WIKIQA_ADMIN_IDS": (
        "alice",
        "error: WIKIQA_ADMIN_IDS holds 'alice', which is not a Telegram user id (a number)\n",
    ),
}


def wikiqa(home: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    return run_wikiqa(*args, WIKIQA_HOME=str(home), **variables)


@pytest.mark.parametrize("variable", BAD)
def test_a_bad_bot_setting_leaves_ask_working(variable: str, sample_home: Path) -> None:
    result = wikiqa(sample_home, "ask", QUESTION, **{variable: BAD[variable][0]})
    assert result.returncode == 0, result.stderr
    assert "May 15, 1992" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("variable", BAD)
def test_a_bad_bot_setting_stops_serve_with_one_sentence(variable: str, sample_home: Path) -> None:
    value, sentence = BAD[variable]
    result = wikiqa(
        sample_home,
        "serve",
        "--workers",
        "0",
        TELEGRAM_BOT_TOKEN="123456:test-token",
        TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{free_port()}",  # never reached
        **{variable: value},
    )
    assert result.returncode == 1
    assert result.stderr == sentence
    assert result.stdout == ""
