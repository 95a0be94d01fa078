"""``wikiqa reindex`` against a MySQL server that accepts the connection and never answers: it
fails in seconds with one sentence naming the timeout, not a hang and not a traceback."""

from __future__ import annotations

from tests.cli import run_wikiqa
from tests.retrieval.storage.test_store_timeouts import silent_port  # noqa: F401 (a fixture)


def test_reindex_on_a_silent_server_exits_1_with_one_line(silent_port: int) -> None:  # noqa: F811
    # The server never answers: only a timeout ends the command (else subprocess.run's own ends it).
    result = run_wikiqa(
        "reindex",
        WIKIQA_DATABASE_URL=f"mysql+pymysql://root:Secret7@127.0.0.1:{silent_port}/test",
        WIKIQA_DB_CONNECT_TIMEOUT="1",
        WIKIQA_DB_READ_TIMEOUT="2",
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        f"error: database mysql+pymysql://root:***@127.0.0.1:{silent_port}/test did not accept a "
        "connection within 1 s (WIKIQA_DB_CONNECT_TIMEOUT)\n"
    )
