"""Settings as one type: what ``load_settings`` reads, ``Settings.to_env`` writes back."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.settings import VARIABLES, Settings, load_settings
from bot.telegram.admin import SubprocessReindexer
from retrieval.storage.timeouts import Timeouts


@pytest.fixture
def configured(tmp_path: Path) -> Settings:
    """Every setting away from its default."""
    return Settings(
        home=tmp_path / "home",
        database_url="postgresql+psycopg://reader:pw@db.example/wiki",
        source_url="https://en.wikipedia.org/wiki/{article_id}",
        timeouts=Timeouts(connect=2.5, read=0.1 + 0.2),  # a float whose shortest text matters
        semantic=False,
        telegram_token="123:abc",
        telegram_api_base_url="http://127.0.0.1:8081",
        admin_ids=frozenset({42, -7, 9001}),
        rate_limit_per_minute=0,
    )


def test_to_env_writes_every_variable_load_settings_reads(configured: Settings) -> None:
    assert set(configured.to_env()) == set(VARIABLES)


def test_loading_what_to_env_wrote_gives_the_same_settings(configured: Settings) -> None:
    assert load_settings(env=configured.to_env()) == configured


@pytest.mark.parametrize("semantic", [None, True, False])
def test_defaults_and_unset_values_round_trip(tmp_path: Path, semantic: bool | None) -> None:
    defaults = load_settings(env={"WIKIQA_HOME": str(tmp_path)})
    settings = replace(defaults, semantic=semantic)
    assert settings.telegram_token is None and not settings.admin_ids
    assert load_settings(env=settings.to_env()) == settings


def test_a_value_that_could_not_be_used_is_written_as_the_default_that_stood_in(tmp_path: Path) -> None:
    settings = load_settings(env={"WIKIQA_HOME": str(tmp_path), "WIKIQA_RATE_LIMIT": "lots"})
    assert settings.bot_problems
    again = load_settings(env=settings.to_env())
    assert again == replace(settings, bot_problems=())


def test_the_reindex_process_gets_the_bots_settings_without_its_token(
    configured: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "999:from-the-environment")
    monkeypatch.setenv("WIKIQA_SOURCE_URL", "https://stale.example/{article_id}")
    env = SubprocessReindexer(configured).env
    assert "TELEGRAM_BOT_TOKEN" not in env
    assert load_settings(env=env) == replace(configured, telegram_token=None)
