"""Every command that names the store URL in a message hides its password: ``ingest``, ``stats``,
``reindex`` and ``serve``, for URLs that do not parse (no scheme, an unescaped ``@`` in the
password) and for ones that parse but whose server cannot be reached (the driver's error)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.bot.telegram.test_serve_cli import free_port
from tests.paths import SEED

URLS = {
    "no scheme": "root:Secret7@127.0.0.1/db",
    "@ in the password, bad port": "mysql+pymysql://root:Se@cret7@127.0.0.1:notaport/db",
    "@ in the password, unreachable": "mysql+pymysql://root:Se@cret7@127.0.0.1:1/db",
    "mysql, refused": "mysql+pymysql://root:Secret7@127.0.0.1:1/db",
    "postgresql, refused": "postgresql+psycopg://root:Secret7@127.0.0.1:1/db",
}
COMMANDS = {
    "ingest": ["ingest", str(SEED)],
    "stats": ["stats"],
    "reindex": ["reindex"],
    "serve": ["serve", "--workers", "0"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("url", URLS.values(), ids=list(URLS))
def test_no_command_shows_the_store_password(url: str, command: str) -> None:
    env = {
        **os.environ,
        "WIKIQA_DATABASE_URL": url,
        "WIKIQA_DB_CONNECT_TIMEOUT": "2",
        "TELEGRAM_BOT_TOKEN": "123456:test-token",
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{free_port()}",
    }
    code = "from bot.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", code, *COMMANDS[command]], capture_output=True, text=True, env=env, timeout=120
    )
    said = result.stdout + result.stderr
    assert result.returncode == 1, said
    assert "Secret7" not in said and "cret7" not in said, said
    assert ":***@" in result.stderr, said
    assert "Traceback" not in said
