"""Configuration, in one place: environment variables, with a ``.env`` file in the working folder.

Variables already set in the environment win over ``.env``, so a deployment can always override
a developer's file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SOURCE_URL = "https://uk.wikipedia.org/wiki/{article_id}"


def default_home() -> Path:
    """The per-user data folder (XDG on Linux), used when ``WIKIQA_HOME`` is not set."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "wikiqa"


def _admin_ids(raw: str) -> frozenset[int]:
    ids = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if part:
            if not part.lstrip("-").isdigit():
                raise ValueError(f"WIKIQA_ADMIN_IDS holds '{part}', which is not a Telegram user id")
            ids.add(int(part))
    return frozenset(ids)


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    database_url: str
    source_url: str = DEFAULT_SOURCE_URL
    telegram_token: str | None = None
    telegram_api_base_url: str | None = None
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    rate_limit_per_minute: int = 20

    @property
    def snapshots_dir(self) -> Path:
        return self.home / "snapshots"


def load_settings(env: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Settings from ``env`` (default: the process environment, after loading ``./.env``)."""
    if env is None:
        if dotenv and Path(".env").is_file():
            from dotenv import load_dotenv

            load_dotenv(".env", override=False)
        env = dict(os.environ)
    home = Path(env.get("WIKIQA_HOME") or default_home()).expanduser()
    database_url = env.get("WIKIQA_DATABASE_URL") or f"sqlite:///{home / 'wikiqa.db'}"
    return Settings(
        home=home,
        database_url=database_url,
        source_url=env.get("WIKIQA_SOURCE_URL") or DEFAULT_SOURCE_URL,
        telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
        telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL") or None,
        admin_ids=_admin_ids(env.get("WIKIQA_ADMIN_IDS", "")),
        rate_limit_per_minute=int(env.get("WIKIQA_RATE_LIMIT") or 20),
    )
