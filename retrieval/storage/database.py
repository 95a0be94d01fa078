"""Connecting to a database: one engine setup for SQLite, MariaDB/MySQL and PostgreSQL, with
timeouts, and URLs that never show their password.

Every connection the project opens (the article store, the bot's journal, a live table being
ingested) goes through :func:`open_engine`, so each has connect and read timeouts: a server that
accepts a connection and then never answers fails the command with one sentence instead of
hanging it.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from retrieval.errors import StoreError
from retrieval.storage.timeouts import (
    CONNECT_TIMEOUT_VARIABLE,
    DEFAULT_TIMEOUTS,
    READ_TIMEOUT_VARIABLE,
    Timeouts,
)

# Table options for MariaDB/MySQL: transactions, and text in full Unicode.
MYSQL_TABLE_ARGS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mariadb_engine": "InnoDB",
    "mariadb_charset": "utf8mb4",
}
# ``scheme://`` or ``//`` at the start of a URL.
_SCHEME = re.compile(r"\s*(?:[A-Za-z][\w+.-]*:)?//")
# ``scheme://user:password@`` inside other text (a driver's message), to the last ``@`` of the word.
_TEXT_USERINFO = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^:/@\s]*:)(?P<password>\S*)@")
# A password given as a query parameter (``?password=...``, ``&passwd=...``).
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|passwd|pwd)=)(?P<password>[^&#\s]*)", re.IGNORECASE)
# What a driver says when a timeout, rather than a refusal or an error, ended the wait: pymysql's
# socket timeouts ("timed out"), libpq's ``connect_timeout`` ("timeout expired"), PostgreSQL's
# ``statement_timeout`` and a ``tcp_user_timeout`` ("Connection timed out").
_TIMED_OUT = re.compile(r"timed out|timeout expired|statement timeout", re.IGNORECASE)


def mysql_variant(generic: Any, specific: Any) -> Any:
    """``generic`` with ``specific`` used on MariaDB and MySQL."""
    return generic.with_variant(specific, "mysql", "mariadb")


def safe_url(url: str) -> str:
    """The URL as it may be shown to a user, as written but with its password hidden, whether it
    parses or not (``user:***@host``, also without a scheme and with an ``@`` in the password)."""
    parts = _userinfo(url)
    if parts:
        url = f"{parts[0]}***@{parts[2]}"
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}***", url)


def _userinfo(url: str) -> tuple[str, str, str] | None:
    """(everything up to the password, the password, everything after its ``@``) of ``url`` as
    written, or None when it has no ``user:password@``.

    The password runs from the user name's colon to the *last* ``@``: a password may hold an
    unescaped ``@``, ``:`` or ``/`` (one reason a URL does not parse), and SQLAlchemy would take
    what follows its first ``@`` for the host. With an ``@`` in the query this hides more than the
    password, never less.
    """
    scheme = _SCHEME.match(url)
    start = scheme.end() if scheme else 0
    at = url.rfind("@", start)
    colon = url.find(":", start, at)
    if at < 0 or colon < 0:
        return None
    user = url[start:colon]
    if "/" in user or any(c.isspace() for c in user):  # a path (sqlite:////a:b@c), not a user
        return None
    return url[: colon + 1], url[colon + 1 : at], url[at + 1 :]


def describe_db_error(url: str, err: BaseException, timeouts: Timeouts | None = None) -> str:
    """One sentence for a database failure: which database, and the driver's own reason, or which
    timeout ran out (and the variable that sets it) when that is what the driver reports."""
    waited = timeout_reason(err, timeouts)
    if waited:
        return f"database {safe_url(url)} {waited}"
    return f"database {safe_url(url)} failed: {driver_reason(err, url)}"


def driver_reason(err: BaseException, url: str) -> str:
    """The first line of the driver's own message (not SQLAlchemy's wrapping), passwords hidden."""
    reason = getattr(err, "orig", None) or err
    text = str(reason).strip()
    return hide_passwords(text.splitlines()[0] if text else type(reason).__name__, url)


def timeout_reason(err: BaseException, timeouts: Timeouts | None) -> str | None:
    """ "did not answer within N s (VARIABLE)" when a connect or read timeout ended ``err``'s wait.

    A failure while connecting has no statement (SQLAlchemy sets one for every failed query), so
    it is the connect timeout's; any other is the read timeout's.
    """
    if timeouts is None:
        return None
    reason = getattr(err, "orig", None) or err
    if not _TIMED_OUT.search(str(reason)) and not isinstance(reason, TimeoutError):
        return None
    connecting = getattr(err, "statement", None) is None and not isinstance(reason, StalledRead)
    seconds, variable = (
        (timeouts.connect, CONNECT_TIMEOUT_VARIABLE) if connecting else (timeouts.read, READ_TIMEOUT_VARIABLE)
    )
    what = "did not accept a connection" if connecting else "did not answer"
    return f"{what} within {seconds:g} s ({variable})"


def hide_passwords(text: str, url: str) -> str:
    """``text`` with the password of ``url`` (and of any URL written in it) hidden."""
    text = text.replace(url, safe_url(url)) if url else text
    for password in _passwords(url):
        text = text.replace(password, "***")
    text = _TEXT_USERINFO.sub(lambda m: f"{m['head']}***@", text)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}***", text)


def _passwords(url: str) -> list[str]:
    """The password of ``url`` in every form a message may quote it: as written, decoded (as the
    driver got it), and the pieces SQLAlchemy made of one holding an ``@`` (its password is the
    part before the ``@``, and the rest went to the host, which a driver names when it cannot
    connect); longest first, so that a piece never leaves the rest of a longer one shown."""
    found: set[str] = set()
    written = _userinfo(url)
    if written:
        found.add(written[1])
    found.update(m["password"] for m in _QUERY_PASSWORD.finditer(url))
    try:
        parsed = make_url(url)
    except Exception:
        parsed = None
    if parsed is not None:
        found.add(str(parsed.password or ""))
        if parsed.host and "@" in parsed.host:
            found.add(parsed.host.rpartition("@")[0])
    found.update({unquote(p) for p in found})
    return sorted((p for p in found if p), key=len, reverse=True)


def open_engine(url: str, *, timeouts: Timeouts = DEFAULT_TIMEOUTS) -> Engine:
    """An engine for ``url`` with the settings each backend needs to behave the same; a SQLite
    file is created with its folder on first use."""
    if timeouts.problem:
        raise StoreError(timeouts.problem)
    try:
        parsed = make_url(url)
    except Exception:
        raise StoreError(
            f"{safe_url(url)} is not a database URL (such as sqlite:///path/to/wikiqa.db)"
        ) from None
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    elif backend in ("mysql", "mariadb"):
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        if parsed.get_driver_name() == "pymysql":  # takes fractions of a second
            connect, read = timeouts.connect, timeouts.read
        else:  # mysqlclient: whole seconds
            connect, read = max(1, round(timeouts.connect)), max(1, round(timeouts.read))
        kwargs["connect_args"] = {"connect_timeout": connect, "read_timeout": read, "write_timeout": read}
    elif backend == "postgresql":
        # libpq has no client-side read timeout: the server ends any statement running longer
        # (``statement_timeout``), and a dead peer is noticed through TCP, within
        # ``tcp_user_timeout`` for unacknowledged data and the keepalives for an idle wait. A link
        # that stays up but passes nothing on (a stalled proxy, whose kernel answers the
        # keepalives) escapes all three: psycopg's connections get a watchdog for that (below).
        read_ms = round(timeouts.read * 1000)
        kwargs["connect_args"] = {
            "connect_timeout": max(1, round(timeouts.connect)),
            "options": f"-c statement_timeout={read_ms}",
            "tcp_user_timeout": read_ms,
            "keepalives": 1,
            "keepalives_idle": max(1, round(timeouts.read / 4)),
            "keepalives_interval": max(1, round(timeouts.read / 8)),
            "keepalives_count": 4,
        }
    try:
        engine = create_engine(parsed, **kwargs)
    except (SQLAlchemyError, ImportError) as err:
        raise StoreError(f"cannot use database {safe_url(url)}: {hide_passwords(str(err), url)}") from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif backend in ("mysql", "mariadb") and parsed.get_driver_name() == "pymysql":
        event.listen(engine, "do_connect", _pymysql_handshake_within_connect_timeout)
    elif backend == "postgresql" and parsed.get_driver_name() == "psycopg":
        event.listen(engine, "do_connect", _psycopg_connect_with_read_watchdog(timeouts.read))
    return engine


def _pymysql_handshake_within_connect_timeout(
    dialect: Any, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    """Open a pymysql connection whose handshake is bounded by the connect timeout.

    pymysql's ``connect_timeout`` covers only the TCP connect; it then waits for the server's
    greeting and the login under the read timeout, so a server that accepts a connection and says
    nothing held a command for the read timeout (120 s by default) instead of the connect timeout.
    The connection is opened with the connect timeout as its read and write timeouts, then given
    its own (pymysql reapplies them at the next read or write).
    """
    connect = cparams.get("connect_timeout")
    read, write = cparams.get("read_timeout"), cparams.get("write_timeout")
    connection = dialect.loaded_dbapi.connect(
        *cargs, **{**cparams, "read_timeout": connect, "write_timeout": connect}
    )
    if hasattr(connection, "_read_timeout") and hasattr(connection, "_write_timeout"):
        connection._read_timeout, connection._write_timeout = read, write
    else:  # a pymysql without these attributes: no bound at all would be worse than a short one
        connection.close()
        connection = dialect.loaded_dbapi.connect(*cargs, **cparams)
    return connection


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class StalledRead(Exception):
    """Mixed into the driver error raised when the read watchdog closed a connection that waited
    longer than the read timeout for one request (a commit too, which has no statement)."""


class _Watchdog:
    """One daemon thread that calls a callback once its deadline passes, unless it was withdrawn.

    A thread per request would cost a thread start per query; this costs a dict entry. The thread
    is started on first use in each process: a forked child has none of its parent's threads, and
    starts afresh (a new lock too, as the parent's may have been held at the fork).
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Condition()
        self._pending: dict[int, tuple[float, Callable[[], None]]] = {}
        self._tokens = itertools.count()
        self._pid = 0

    def watch(self, seconds: float, callback: Callable[[], None]) -> int:
        """Call ``callback`` in ``seconds`` unless :meth:`withdraw` is called with the token first."""
        deadline = time.monotonic() + seconds
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._pending.clear()
                threading.Thread(target=self._run, name="wikiqa-db-watchdog", daemon=True).start()
            token = next(self._tokens)
            earliest = min((d for d, _ in self._pending.values()), default=None)
            self._pending[token] = (deadline, callback)
            if earliest is None or deadline < earliest:
                self._lock.notify()
        return token

    def withdraw(self, token: int) -> None:
        """Cancel the callback; once this returns it is not called (it runs under the same lock)."""
        with self._lock:
            self._pending.pop(token, None)

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                for token in [t for t, (deadline, _) in self._pending.items() if deadline <= now]:
                    _, callback = self._pending.pop(token)
                    with suppress(Exception):
                        callback()
                earliest = min((d for d, _ in self._pending.values()), default=None)
                self._lock.wait(None if earliest is None else earliest - now)


_WATCHDOG = _Watchdog()
# The watchdog waits this much past the read timeout, so that a statement that is merely slow is
# ended by the server's own statement_timeout, which says so and leaves the connection usable.
_WATCHDOG_GRACE_SECONDS = 0.5


def _psycopg_connect_with_read_watchdog(read_timeout: float) -> Callable[..., Any]:
    """A ``do_connect`` handler opening psycopg connections whose every wait for the server is
    bounded by ``read_timeout``.

    libpq waits for a server's bytes as long as the socket is open: ``statement_timeout`` is the
    server's (which may be the one that is cut off), and TCP keepalives and ``tcp_user_timeout``
    are answered or acknowledged by whatever holds the other end, such as a proxy whose upstream
    stalled. psycopg waits on the socket with select/poll and no timeout of its own, so a socket
    option would not bound it either. Every exchange of a psycopg connection (a query, a batch
    of an executemany, a commit, SQLAlchemy's ping) is one call of its ``wait``; while one runs
    longer than the read timeout, the watchdog shuts the socket down. libpq then reads the end
    of the stream and fails the request, which is reported as the read timeout, and the broken
    connection is discarded by SQLAlchemy.
    """
    import psycopg

    class ReadTimedOut(StalledRead, psycopg.OperationalError):
        pass

    class WatchedConnection(psycopg.Connection):  # type: ignore[type-arg]
        _cut_off = False  # set once the watchdog has shut this connection's socket down

        def wait(self, *args: Any, **kwargs: Any) -> Any:
            fd = self.fileno()

            def cut_off() -> None:
                self._cut_off = True  # before the shutdown, which wakes the waiting thread at once
                _shut_down(fd)

            token = _WATCHDOG.watch(read_timeout + _WATCHDOG_GRACE_SECONDS, cut_off)
            try:
                return super().wait(*args, **kwargs)
            except psycopg.Error:
                # A cut just after a wait ended surfaces in the next one: any failure from then
                # on is the timeout's.
                if self._cut_off:
                    raise ReadTimedOut(
                        f"read timed out: no answer within {read_timeout:g} s, so the connection was closed"
                    ) from None
                raise
            finally:
                _WATCHDOG.withdraw(token)

    def connect(dialect: Any, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]) -> Any:
        return WatchedConnection.connect(*cargs, **cparams)

    return connect


def _shut_down(fd: int) -> None:
    """Shut the socket ``fd`` down both ways (its owner's next read sees the end of the stream)."""
    with suppress(OSError), socket.socket(fileno=os.dup(fd)) as sock:
        sock.shutdown(socket.SHUT_RDWR)
