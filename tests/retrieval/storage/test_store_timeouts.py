"""Every connection to the store has connect and read timeouts: a server that accepts a connection
and never answers fails the command in seconds, with one sentence naming the timeout."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from retrieval.errors import WikiqaError
from retrieval.storage.articles import ArticleStore
from retrieval.storage.database import describe_db_error, open_engine
from retrieval.storage.timeouts import Timeouts


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for conn in held:
        conn.close()


def test_a_silent_server_fails_the_store_in_seconds_with_one_sentence(silent_port: int) -> None:
    url = f"mysql+pymysql://root:Secret7@127.0.0.1:{silent_port}/test"
    store = ArticleStore(url, timeouts=Timeouts(connect=1, read=2))
    with pytest.raises(WikiqaError) as caught:  # the server never answers: only a timeout ends this
        store.counts()
    message = str(caught.value)
    assert message == (
        f"database mysql+pymysql://root:***@127.0.0.1:{silent_port}/test did not accept a connection "
        "within 1 s (WIKIQA_DB_CONNECT_TIMEOUT)"
    )


def test_the_handshake_is_bounded_by_the_connect_timeout_not_the_read_timeout(silent_port: int) -> None:
    """pymysql's own connect_timeout ends at the TCP connect; a server silent in the handshake
    waited for the read timeout (120 s by default) before."""
    store = ArticleStore(
        f"mysql+pymysql://root@127.0.0.1:{silent_port}/test", timeouts=Timeouts(connect=1, read=60)
    )
    started = time.monotonic()
    with pytest.raises(WikiqaError, match=r"within 1 s \(WIKIQA_DB_CONNECT_TIMEOUT\)"):
        store.ensure_schema()
    # Half the read timeout: the 1 s connect timeout ended it, however busy the machine.
    assert time.monotonic() - started < 30


SLOW = [
    pytest.param("mariadb_url", "SELECT SLEEP(5)", marks=pytest.mark.server, id="mariadb"),
    pytest.param("postgres_url", "SELECT pg_sleep(5)", marks=pytest.mark.server, id="postgresql"),
]


@pytest.mark.parametrize(("fixture", "query"), SLOW)
def test_a_slow_answer_names_the_read_timeout(
    fixture: str, query: str, request: pytest.FixtureRequest
) -> None:
    """A server that accepted the connection and is then slower than the read timeout."""
    url = request.getfixturevalue(fixture)
    timeouts = Timeouts(connect=5, read=1)
    engine = open_engine(url, timeouts=timeouts)
    try:
        # The query would succeed after its 5 s: the error is the read timeout ending it.
        with pytest.raises(DBAPIError) as caught, engine.connect() as conn:
            conn.execute(text(query))
    finally:
        engine.dispose()
    said = describe_db_error(url, caught.value, timeouts)
    assert said.endswith(" did not answer within 1 s (WIKIQA_DB_READ_TIMEOUT)"), said


@pytest.mark.server
def test_the_read_timeout_stays_the_read_timeout_after_the_handshake(mariadb_url: str) -> None:
    """The handshake ran under the connect timeout; the queries after it get the read timeout
    back (a query longer than the connect timeout still succeeds)."""
    engine = open_engine(mariadb_url, timeouts=Timeouts(connect=1, read=10))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT SLEEP(2)")).scalar_one() == 0
    finally:
        engine.dispose()
