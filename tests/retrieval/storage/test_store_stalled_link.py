"""A PostgreSQL link that stays open but stops passing the server's bytes on (a stalled proxy or
tunnel, whose own kernel answers TCP keepalives): the store fails within the read timeout with one
sentence, as on MariaDB, instead of hanging, and an ingest writes nothing.

The stall is a relay on 127.0.0.1 in front of the real server that forwards everything the client
sends, and the server's first 40 KB, then keeps reading the server and passes nothing more on.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import suppress

import pytest
from sqlalchemy.engine import make_url

from retrieval.errors import StoreError
from retrieval.storage.articles import ArticleStore
from retrieval.storage.records import ArticleRecord
from retrieval.storage.timeouts import Timeouts
from tests.cli import run_wikiqa

pytestmark = pytest.mark.server

PASSED_BYTES = 40 << 10
# After this, the relay closes everything, so that a client without a read bound fails the test
# (on its message) instead of hanging it.
GIVE_UP_SECONDS = 30.0
BODY = "The river flows to the sea past the old mills and the new bridges. " * 15


class StallingRelay:
    """Forwards 127.0.0.1:<port> to ``target``; the server's bytes only up to ``budget`` a connection."""

    def __init__(self, target: tuple[str, int], budget: int) -> None:
        self.target = target
        self.budget = budget
        self.stalled = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = [self._listener]
        self._lock = threading.Lock()
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        self._timer = threading.Timer(GIVE_UP_SECONDS, self.close)
        self._timer.daemon = True
        self._timer.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                return
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, self.budget), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, budget: int | None) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                if budget is not None:
                    data = data[: max(0, budget)]
                    budget -= len(data)
                    if budget <= 0:
                        self.stalled.set()
                if data:
                    sink.sendall(data)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


@pytest.fixture
def relay(postgres_url: str) -> Iterator[tuple[StallingRelay, str]]:
    """(the relay, the store URL through it) in front of a fresh PostgreSQL database."""
    url = make_url(postgres_url)
    stalling = StallingRelay((url.host or "127.0.0.1", url.port or 5432), PASSED_BYTES)
    yield stalling, url.set(host="127.0.0.1", port=stalling.port).render_as_string(hide_password=False)
    stalling.close()


def articles(count: int, body: str = BODY) -> list[ArticleRecord]:
    return [
        ArticleRecord(f"River {i}", f"River {i}", body, "", f"rivers.jsonl:{i + 1}") for i in range(count)
    ]


def fill(url: str, records: list[ArticleRecord]) -> None:
    store = ArticleStore(url)
    store.upsert(records, source="direct")
    store.close()


def test_reading_through_a_stalled_link_fails_within_the_read_timeout(
    relay: tuple[StallingRelay, str], postgres_url: str
) -> None:
    stalling, url = relay
    fill(postgres_url, articles(200))  # some 200 KB, far past what the relay passes on
    store = ArticleStore(url, timeouts=Timeouts(connect=5, read=1))
    try:
        with pytest.raises(StoreError) as caught, store.reading() as read:
            for _ in read.articles():
                pass
    finally:
        store.close()
    assert stalling.stalled.is_set()
    assert str(caught.value) == f"database {url} did not answer within 1 s (WIKIQA_DB_READ_TIMEOUT)"


def test_an_ingest_through_a_stalled_link_fails_and_writes_nothing(
    relay: tuple[StallingRelay, str], postgres_url: str
) -> None:
    stalling, url = relay
    fill(postgres_url, articles(1500))  # the existing rows' keys and hashes make the answers long
    store = ArticleStore(url, timeouts=Timeouts(connect=5, read=1))
    try:
        with pytest.raises(StoreError) as caught:
            store.upsert(articles(1500, body="Changed."), source="rivers.jsonl")
    finally:
        store.close()
    assert stalling.stalled.is_set()
    assert str(caught.value) == (
        f"database {url} did not answer within 1 s (WIKIQA_DB_READ_TIMEOUT); "
        "nothing from rivers.jsonl was written"
    )
    direct = ArticleStore(postgres_url)
    with direct.reading() as read:
        assert {a.article for a in read.articles()} == {BODY}
    direct.close()


def test_wikiqa_reindex_through_a_stalled_link_exits_1_with_one_line(
    relay: tuple[StallingRelay, str], postgres_url: str
) -> None:
    _, url = relay
    fill(postgres_url, articles(200))
    result = run_wikiqa("reindex", WIKIQA_DATABASE_URL=url, WIKIQA_DB_READ_TIMEOUT="2")
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"error: database {url} did not answer within 2 s (WIKIQA_DB_READ_TIMEOUT)\n"
