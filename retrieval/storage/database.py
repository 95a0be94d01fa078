"""Connecting to a database: one engine setup for SQLite, MariaDB/MySQL and PostgreSQL, with
timeouts, and URLs that never show their password.

Every connection the project opens (the article store, the bot's journal, a live table being
ingested) goes through :func:`open_engine`, so each has connect and read timeouts: a server that
accepts a connection and then never answers fails the command with one sentence instead of
hanging it.
"""

from __future__ import annotations

import re
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
    connecting = getattr(err, "statement", None) is None
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
        # ``tcp_user_timeout`` for unacknowledged data and the keepalives for an idle wait.
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
