"""The semantic stage from the command line: questions in Russian and Ukrainian answered, the
search mode in ``wikiqa stats``, ``reindex --semantic/--no-semantic``, and no network touched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.conftest import MISSING_MODELS
from tests.paths import ROOT

pytestmark = pytest.mark.skipif(bool(MISSING_MODELS), reason="the semantic model is not installed")
MODEL = "multilingual-e5-small"
WIKIQA = Path(sys.executable).with_name("wikiqa")
RUSSIAN = "Когда произошла Чернобыльская авария?"

# Loaded first by every Python process it is on the path of: any connection to another host
# fails at once, as it would on a machine without a network (local sockets still work).
NO_NETWORK = """
import socket

_connect = socket.socket.connect


def _refuse(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError("network access refused by the test")
    return _connect(self, address)


socket.socket.connect = _refuse
socket.socket.connect_ex = lambda self, address: _refuse(self, address) or 0
"""


@pytest.fixture
def semantic_home(semantic_snapshots: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the embedded bundled corpus as this test's WIKIQA_HOME."""
    home = tmp_path / "home"
    shutil.copytree(semantic_snapshots.parent, home, symlinks=True)
    monkeypatch.setenv("WIKIQA_HOME", str(home))
    monkeypatch.setenv("WIKIQA_SEMANTIC", "auto")
    return home


def offline_env(home: Path, guard: Path) -> dict[str, str]:
    """The environment of a user with no hub variables and no network."""
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(NO_NETWORK)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "SENTENCE_"))}
    return {**env, "WIKIQA_HOME": str(home), "WIKIQA_SEMANTIC": "auto", "PYTHONPATH": str(guard)}


def test_a_russian_question_is_answered_with_the_english_passage(semantic_home: Path) -> None:
    result = CliRunner().invoke(cli, ["ask", "--json", RUSSIAN])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert not answer["no_match"]
    assert answer["quotes"][0]["title"] == "Chernobyl disaster"
    assert "1986" in answer["answer"]


def test_stats_names_the_search_mode(semantic_home: Path) -> None:
    result = CliRunner().invoke(cli, ["stats", "--json"])
    figures = json.loads(result.stdout)
    assert figures["semantic"] == [MODEL] == figures["semantic_installed"]
    assert figures["reindex_embeds_again"] is False
    text = CliRunner().invoke(cli, ["stats"]).stdout
    assert f"search          BM25 + semantic ({MODEL})" in text


def test_reindex_without_semantic_is_lexical_and_stats_says_the_next_one_embeds(semantic_home: Path) -> None:
    result = CliRunner().invoke(cli, ["reindex", "--no-semantic", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["semantic"] == []
    said = CliRunner().invoke(cli, ["stats"]).stdout
    assert f"BM25 only (the snapshot has no {MODEL} vectors: the next wikiqa reindex embeds" in said
    assert "--semantic" not in said  # a flag the user never needs
    russian = json.loads(CliRunner().invoke(cli, ["ask", "--json", RUSSIAN]).stdout)
    assert russian["no_match"]


def test_answers_and_reindexes_with_no_network_and_no_hub_variables(
    semantic_home: Path, tmp_path: Path
) -> None:
    env = offline_env(semantic_home, tmp_path / "guard")
    probe = subprocess.run(
        [sys.executable, "-c", "import socket; socket.create_connection(('192.0.2.1', 443), timeout=1)"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "network access refused by the test" in probe.stderr  # the guard is in force
    asked = subprocess.run([str(WIKIQA), "ask", RUSSIAN], env=env, cwd=ROOT, capture_output=True, text=True)
    assert asked.returncode == 0 and "Chernobyl" in asked.stdout, asked.stderr
    english = subprocess.run(
        [str(WIKIQA), "ask", "Which aircraft was the heaviest ever built?"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert english.returncode == 0 and "Mriya" in english.stdout, english.stderr
    (semantic_home / "new.jsonl").write_text(
        json.dumps(
            {"article_id": "Cloves", "title": "Cloves", "article": "Zanzibar grows cloves for export."}
        )
    )
    ingested = subprocess.run(
        [str(WIKIQA), "ingest", str(semantic_home / "new.jsonl")], env=env, capture_output=True
    )
    assert ingested.returncode == 0, ingested.stderr
    reindexed = subprocess.run(
        [str(WIKIQA), "reindex", "--semantic", "--json"], env=env, capture_output=True, text=True
    )
    assert reindexed.returncode == 0, reindexed.stderr  # the new passage embedded
    assert json.loads(reindexed.stdout)["semantic"] == [MODEL]


def test_an_unwritable_cache_prints_no_runtime_warning(semantic_home: Path, tmp_path: Path) -> None:
    """onnxruntime's telemetry, on by default since 1.29, warned in ANSI colours on every start
    where it could not save its device id; wikiqa turns it off, and says nothing itself."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    env = {**os.environ, "WIKIQA_HOME": str(semantic_home), "XDG_CACHE_HOME": str(blocker)}
    env.pop("ORT_DISABLE_TELEMETRY", None)
    asked = subprocess.run([str(WIKIQA), "ask", RUSSIAN], env=env, capture_output=True, text=True)
    assert asked.returncode == 0 and "Chernobyl" in asked.stdout, asked.stderr
    assert asked.stderr == ""
