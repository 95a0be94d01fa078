"""Every command documents itself: help text and at least one example, reachable with --help."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bot.cli import COMMANDS, cli


def test_top_level_help_lists_every_command_with_an_example():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output
    assert "Example" in result.output


@pytest.mark.parametrize("name", list(COMMANDS))
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_has_help_with_an_example(name: str, flag: str):
    result = CliRunner().invoke(cli, [name, flag])
    assert result.exit_code == 0, result.output
    assert f"Usage: cli {name}" in result.output or f"Usage: wikiqa {name}" in result.output
    assert "Example" in result.output, f"'wikiqa {name} --help' shows no example"
    assert f"wikiqa {name}" in result.output.split("Example", 1)[1], "the example should be a full command"


def test_unknown_command_and_bad_option_are_usage_errors():
    runner = CliRunner()
    assert runner.invoke(cli, ["frobnicate"]).exit_code == 2
    assert runner.invoke(cli, ["ask", "--no-such-option", "x"]).exit_code == 2
