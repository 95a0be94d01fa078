"""``wikiqa ask --page`` takes the answerer's own page limit (bot.answer.MAX_PAGE), not a copy."""

from __future__ import annotations

import click
from click.testing import CliRunner

from bot.answer import MAX_PAGE
from bot.cli import cli
from bot.cli.ask_cmd import ask


def test_the_page_option_is_bounded_by_max_page() -> None:
    (page,) = [p for p in ask.params if p.name == "page"]
    assert isinstance(page.type, click.IntRange)
    assert (page.type.min, page.type.max) == (1, MAX_PAGE)


def test_a_page_past_max_page_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["ask", "--page", str(MAX_PAGE + 1), "a question"])
    assert result.exit_code == 2
    assert f"1<=x<={MAX_PAGE}" in result.output
