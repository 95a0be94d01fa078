"""What a user of the command line sees when the index snapshot is damaged: ``ask`` answers from
the snapshot kept before it and says so, or says in one sentence to reindex; ``stats`` reports it;
``reindex`` repairs it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from retrieval.index.publish import current_version

QUESTION = "When was the Collective Security Treaty signed?"
WIKIQA = str(Path(sys.executable).with_name("wikiqa"))


@pytest.fixture
def damaged_home(sample_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the sample home with a second snapshot built, whose tokens are then cut short."""
    home = tmp_path / "home"
    shutil.copytree(sample_home, home, symlinks=True)
    monkeypatch.setenv("WIKIQA_HOME", str(home))
    assert CliRunner().invoke(cli, ["reindex"]).exit_code == 0
    tokens = home / "snapshots" / current_version(home / "snapshots") / "tokens.i32"
    tokens.write_bytes(tokens.read_bytes()[:100])
    return home


def test_ask_answers_from_the_previous_snapshot_and_warns_once(damaged_home: Path) -> None:
    live = current_version(damaged_home / "snapshots")
    result = CliRunner().invoke(cli, ["ask", QUESTION])
    assert result.exit_code == 0
    assert "May 15, 1992" in result.stdout
    (warning,) = result.stderr.splitlines()
    assert warning.startswith(f"warning: the index snapshot {live} is damaged (tokens.i32 holds 100 bytes, ")
    assert "answering from the previous snapshot" in warning


def test_ask_without_a_whole_snapshot_fails_with_one_sentence(damaged_home: Path) -> None:
    snapshots = damaged_home / "snapshots"
    live = current_version(snapshots)
    for folder in snapshots.iterdir():
        if folder.is_dir() and not folder.is_symlink() and folder.name != live:
            shutil.rmtree(folder)
    result = subprocess.run([WIKIQA, "ask", QUESTION], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: the index snapshot {live} is damaged (tokens.i32 holds 100 bytes, ")
    assert result.stderr.endswith(" were written); run wikiqa reindex\n")


def test_stats_reports_the_damage_and_reindex_repairs_it(damaged_home: Path) -> None:
    stats = CliRunner().invoke(cli, ["stats"])
    assert stats.exit_code == 1
    assert "is damaged (tokens.i32 holds 100 bytes" in stats.stderr
    assert CliRunner().invoke(cli, ["reindex"]).exit_code == 0
    again = CliRunner().invoke(cli, ["stats"])
    assert again.exit_code == 0, again.stderr
    assert again.stderr == ""
