"""Fixtures for the front-end tests: one sample-corpus home shared by the whole session."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.corpus import bootstrap
from bot.settings import load_settings


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A WIKIQA_HOME with the bundled corpus ingested and indexed, built once per session:
    building it per test would cost seconds each and test nothing new."""
    home = tmp_path_factory.mktemp("sample-home")
    settings = load_settings({"WIKIQA_HOME": str(home), "WIKIQA_SEMANTIC": "off"}, dotenv=False)
    bootstrap(settings, say=lambda *a, **k: None)
    return home


@pytest.fixture
def ready(sample_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample home as this test's WIKIQA_HOME."""
    monkeypatch.setenv("WIKIQA_HOME", str(sample_home))
    return sample_home
