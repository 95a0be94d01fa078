"""``wikiqa stats``: store and snapshot figures, as text or JSON, and what happens when one is missing."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bot.cli import cli
from bot.corpus import sample_data_dir

KEYS = {
    "articles",
    "empty_articles",
    "passages",
    "vocabulary",
    "snapshot_version",
    "snapshot_built_at",
    "snapshot_age_seconds",
    "snapshot_size_bytes",
    "reindex_running",
    "semantic_installed",
    "semantic",
    "reindex_embeds_again",
}


def test_json_reports_store_and_snapshot_figures(sample_home, monkeypatch):
    monkeypatch.setenv("WIKIQA_HOME", str(sample_home))
    result = CliRunner().invoke(cli, ["stats", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert set(figures) == KEYS
    bundled = sum(1 for p in sample_data_dir().rglob("*") if p.is_file() and not p.name.startswith("."))
    assert figures["articles"] == bundled
    assert figures["empty_articles"] == 0
    assert figures["passages"] >= figures["articles"]
    assert figures["vocabulary"] > 100
    assert figures["snapshot_size_bytes"] > 0
    assert 0 <= figures["snapshot_age_seconds"] < 24 * 3600
    assert figures["reindex_running"] is False


def test_text_output_names_each_figure(sample_home, monkeypatch):
    monkeypatch.setenv("WIKIQA_HOME", str(sample_home))
    result = CliRunner().invoke(cli, ["stats"])
    assert result.exit_code == 0
    for label in ("articles", "empty articles", "passages", "vocabulary", "built", "size on disk"):
        assert label in result.stdout
    assert " ago)" in result.stdout
    assert "unavailable" not in result.stdout


def test_without_a_snapshot_it_shows_the_store_warns_and_exits_1():
    result = CliRunner().invoke(cli, ["stats", "--json"])
    assert result.exit_code == 1
    figures = json.loads(result.stdout)
    assert figures["articles"] == 0 and figures["passages"] is None
    assert result.stderr.startswith("warning: snapshot:")
