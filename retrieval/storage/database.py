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

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from retrieval.errors import StoreError
from retrieval.storage.timeouts import DEFAULT_TIMEOUTS, Timeouts

# Table options for MariaDB/MySQL: transactions, and text in full Unicode.
MYSQL_TABLE_ARGS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mariadb_engine": "InnoDB",
    "mariadb_charset": "utf8mb4",
}
# ``scheme://user:password@`` as written, for hiding the password of a URL that does not parse.
_USER_PASSWORD = re.compile(r"(?P<head>[A-Za-z][\w+.-]*://[^:/@\s]*:)(?P<password>[^@\s]*)@")


def mysql_variant(generic: Any, specific: Any) -> Any:
    """``generic`` with ``specific`` used on MariaDB and MySQL."""
    return generic.with_variant(specific, "mysql", "mariadb")


def safe_url(url: str) -> str:
    """The URL as it may be shown to a user: the password hidden, whether it parses or not."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return _USER_PASSWORD.sub(lambda m: f"{m['head']}***@", url)


def describe_db_error(url: str, err: BaseException) -> str:
    """One sentence for a database failure: which database, and the driver's own reason."""
    reason = getattr(err, "orig", None) or err
    text = str(reason).strip().splitlines()[0] if str(reason).strip() else type(reason).__name__
    return f"database {safe_url(url)} failed: {hide_passwords(text, url)}"


def hide_passwords(text: str, url: str) -> str:
    """``text`` with the password of ``url`` (and of any URL written in it) hidden."""
    password = _password(url)
    if password:
        text = text.replace(password, "***")
    return _USER_PASSWORD.sub(lambda m: f"{m['head']}***@", text)


def _password(url: str) -> str | None:
    try:
        return make_url(url).password
    except Exception:
        found = _USER_PASSWORD.search(url)
        return found["password"] if found else None


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
        seconds = {"connect_timeout": round(timeouts.connect), "read_timeout": round(timeouts.read)}
        kwargs["connect_args"] = {**seconds, "write_timeout": round(timeouts.read)}
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
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
