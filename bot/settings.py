"""Configuration, in one place: environment variables, with a ``.env`` file in the working folder.

Variables already set in the environment win over ``.env``, so a deployment can always override
a developer's file. A value that cannot be used is reported in one sentence naming its variable:
at once for what every command needs (the data folder), when the store is first used for the
store's own settings (its URL, its timeouts), and only by ``wikiqa serve`` for what only the bot
reads (admin ids, the rate limit), so a typo in those never stops ``wikiqa ask``, which answers
from the snapshot. A ``.env`` that is not UTF-8 text is named in one sentence too.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.errors import WikiqaError
from retrieval.storage.timeouts import DEFAULT_TIMEOUTS, Timeouts

DEFAULT_SOURCE_URL = "https://uk.wikipedia.org/wiki/{article_id}"
DEFAULT_RATE_LIMIT = 20
# Every variable wikiqa reads, with what it means (``wikiqa --help`` and the README list them).
VARIABLES = {
    "WIKIQA_HOME": "data folder (default ~/.local/share/wikiqa)",
    "WIKIQA_DATABASE_URL": "article store URL (default: SQLite in WIKIQA_HOME)",
    "WIKIQA_SOURCE_URL": "source link template (default https://uk.wikipedia.org/wiki/{article_id})",
    "WIKIQA_DB_CONNECT_TIMEOUT": "seconds for the store to accept a connection (default 10)",
    "WIKIQA_DB_READ_TIMEOUT": "seconds for the store to answer one request (default 120)",
    "WIKIQA_SEMANTIC": "auto, on or off: semantic search (default auto: on when its model is installed)",
    "TELEGRAM_BOT_TOKEN": "the bot's token from @BotFather (wikiqa serve)",
    "TELEGRAM_API_BASE_URL": "Bot API server root (default https://api.telegram.org)",
    "WIKIQA_ADMIN_IDS": "Telegram user ids allowed /reindex, /stats and /report, comma-separated",
    "WIKIQA_RATE_LIMIT": f"questions per user per minute, 0 for no limit (default {DEFAULT_RATE_LIMIT})",
}


def default_home() -> Path:
    """The per-user data folder (XDG on Linux), used when ``WIKIQA_HOME`` is not set."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "wikiqa"


@dataclass(frozen=True, slots=True)
class Settings:
    """What wikiqa is configured with. ``bot_problems`` holds a sentence for each bot-only
    variable whose value cannot be used; :meth:`check_bot` raises the first."""

    home: Path
    database_url: str
    source_url: str = DEFAULT_SOURCE_URL
    timeouts: Timeouts = field(default_factory=Timeouts)
    semantic: bool | None = None  # embed passages at reindex; None: when the model is installed
    telegram_token: str | None = None
    telegram_api_base_url: str | None = None
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT
    bot_problems: tuple[str, ...] = ()

    @property
    def snapshots_dir(self) -> Path:
        return self.home / "snapshots"

    def check_bot(self) -> None:
        """Raise the first problem with the bot's own settings, if any."""
        if self.bot_problems:
            raise WikiqaError(self.bot_problems[0])

    def to_env(self) -> dict[str, str]:
        """These settings as the variables :func:`load_settings` reads: every one of
        :data:`VARIABLES`, an empty value for one that is not set.

        ``load_settings(to_env())`` gives these settings back. A value that could not be used is
        not carried: its default stood in for it, and that default is what is written.
        """
        return {
            "WIKIQA_HOME": str(self.home),
            "WIKIQA_DATABASE_URL": self.database_url,
            "WIKIQA_SOURCE_URL": self.source_url,
            "WIKIQA_DB_CONNECT_TIMEOUT": repr(self.timeouts.connect),
            "WIKIQA_DB_READ_TIMEOUT": repr(self.timeouts.read),
            "WIKIQA_SEMANTIC": {None: "auto", True: "on", False: "off"}[self.semantic],
            "TELEGRAM_BOT_TOKEN": self.telegram_token or "",
            "TELEGRAM_API_BASE_URL": self.telegram_api_base_url or "",
            "WIKIQA_ADMIN_IDS": ",".join(str(user) for user in sorted(self.admin_ids)),
            "WIKIQA_RATE_LIMIT": str(self.rate_limit_per_minute),
        }


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Settings from ``env`` (default: the process environment, after loading ``./.env``)."""
    if env is None:
        if dotenv and Path(".env").is_file():
            _load_dotenv(Path(".env"))
        env = dict(os.environ)
    home = _home(env)
    problems: list[str] = []
    admin_ids = _admin_ids(env.get("WIKIQA_ADMIN_IDS", ""), problems)
    rate_limit = _whole_number(env, "WIKIQA_RATE_LIMIT", DEFAULT_RATE_LIMIT, problems)
    store_problems: list[str] = []
    return Settings(
        home=home,
        database_url=env.get("WIKIQA_DATABASE_URL") or f"sqlite:///{home / 'wikiqa.db'}",
        source_url=env.get("WIKIQA_SOURCE_URL") or DEFAULT_SOURCE_URL,
        timeouts=Timeouts(
            connect=_seconds(env, "WIKIQA_DB_CONNECT_TIMEOUT", DEFAULT_TIMEOUTS.connect, store_problems),
            read=_seconds(env, "WIKIQA_DB_READ_TIMEOUT", DEFAULT_TIMEOUTS.read, store_problems),
            problem=store_problems[0] if store_problems else None,
        ),
        semantic=_switch(env, "WIKIQA_SEMANTIC"),
        telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
        telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL") or None,
        admin_ids=admin_ids,
        rate_limit_per_minute=rate_limit,
        bot_problems=tuple(problems),
    )


def _load_dotenv(path: Path) -> None:
    """Variables from ``path`` that the environment does not set; one sentence if it is not text.

    The file is checked whole before any variable is set, so a bad one sets none.
    """
    from dotenv import load_dotenv

    where = path.resolve()
    try:
        data = path.read_bytes()
    except OSError as err:
        raise WikiqaError(f"{where} cannot be read ({err.strerror or err})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise WikiqaError(
            f"{where} is not UTF-8 text (byte {data[err.start]:#04x} at offset {err.start}); save it as UTF-8"
        ) from None
    if "\0" in text:
        raise WikiqaError(f"{where} holds NUL bytes, so it is not UTF-8 text (UTF-16?); save it as UTF-8")
    load_dotenv(stream=io.StringIO(text), override=False)


def _home(env: Mapping[str, str]) -> Path:
    """The data folder; one sentence when it, or a folder it would be made in, is a file."""
    raw = env.get("WIKIQA_HOME") or ""
    home = Path(raw or default_home()).expanduser()
    for folder in (home, *home.parents):
        if folder.is_dir():
            break
        if folder.exists() or folder.is_symlink():
            what = f"WIKIQA_HOME is '{raw}'" if raw else f"The data folder is {home}"
            if folder == home:
                raise WikiqaError(f"{what}, which is a file, not a folder")
            raise WikiqaError(f"{what}, but {folder} is a file, not a folder")
    return home


def _admin_ids(raw: str, problems: list[str]) -> frozenset[int]:
    ids = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if part.lstrip("-").isdigit():
            ids.add(int(part))
        else:
            problems.append(f"WIKIQA_ADMIN_IDS holds '{part}', which is not a Telegram user id (a number)")
    return frozenset(ids)


def _whole_number(env: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        problems.append(f"{name} is '{raw}', which is not a whole number of 0 or more")
        return default
    return int(raw)


def _switch(env: Mapping[str, str], name: str) -> bool | None:
    """``on``/``off`` (or 1/0, true/false, yes/no) as a bool, ``auto`` or unset as None."""
    raw = (env.get(name) or "auto").strip().lower()
    if raw in ("on", "1", "true", "yes"):
        return True
    if raw in ("off", "0", "false", "no"):
        return False
    if raw == "auto":
        return None
    raise WikiqaError(f"{name} is '{raw}', which is not one of auto, on or off")


def _seconds(env: Mapping[str, str], name: str, default: float, problems: list[str]) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        problems.append(f"{name} is '{raw}', which is not a number of seconds above 0")
        return default
    return seconds
