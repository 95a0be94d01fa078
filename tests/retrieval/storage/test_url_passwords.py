"""A store URL's password is never shown: not in URLs that parse, not in ones that do not (no
scheme, an unescaped ``@`` in the password, a port that is not a number), not in driver errors."""

from __future__ import annotations

import pytest

from retrieval.errors import StoreError
from retrieval.storage.articles import ArticleStore
from retrieval.storage.database import describe_db_error, hide_passwords, open_engine, safe_url
from retrieval.storage.timeouts import Timeouts

SECRET = "Se@cr:et/7"

SHOWN = [
    ("mysql+pymysql://root:Secret7@127.0.0.1:3306/db", "mysql+pymysql://root:***@127.0.0.1:3306/db"),
    ("postgresql+psycopg://u:p%40ss@db.example/wiki", "postgresql+psycopg://u:***@db.example/wiki"),
    ("mysql+pymysql://:Secret7@h/db", "mysql+pymysql://:***@h/db"),
    # does not parse: no scheme
    ("root:Secret7@127.0.0.1/db", "root:***@127.0.0.1/db"),
    ("//root:Secret7@127.0.0.1/db", "//root:***@127.0.0.1/db"),
    # an unescaped @ in the password, with a port that is not a number (does not parse) or is one
    # (parses, with the password's tail taken for the host)
    ("mysql+pymysql://root:Se@cret7@127.0.0.1:notaport/db", "mysql+pymysql://root:***@127.0.0.1:notaport/db"),
    ("mysql+pymysql://root:Se@cret7@127.0.0.1:3306/db", "mysql+pymysql://root:***@127.0.0.1:3306/db"),
    (f"mysql+pymysql://root:{SECRET}@127.0.0.1/db", "mysql+pymysql://root:***@127.0.0.1/db"),
    # a password as a query parameter
    (
        "postgresql://u@h/db?password=Secret7&sslmode=require",
        "postgresql://u@h/db?password=***&sslmode=require",
    ),
    # nothing to hide
    ("mysql+pymysql://root@127.0.0.1:3306/db", "mysql+pymysql://root@127.0.0.1:3306/db"),
    ("sqlite:////data/a:b@c/wikiqa.db", "sqlite:////data/a:b@c/wikiqa.db"),
    ("sqlite:///wikiqa.db", "sqlite:///wikiqa.db"),
]


@pytest.mark.parametrize(("url", "shown"), SHOWN)
def test_the_password_is_hidden_whether_the_url_parses_or_not(url: str, shown: str) -> None:
    assert safe_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "root:Secret7@127.0.0.1/db",
        "mysql+pymysql://root:Se@cret7@127.0.0.1:notaport/db",
        "no-scheme:Secret7@host",
    ],
)
def test_a_url_that_does_not_parse_is_named_without_its_password(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        open_engine(url)
    message = str(caught.value)
    assert "is not a database URL" in message
    assert "Secret7" not in message and "cret7" not in message and "***@" in message


def test_a_message_quoting_the_password_or_the_url_hides_both() -> None:
    url = f"mysql+pymysql://root:{SECRET}@127.0.0.1:3306/db"
    text = f"cannot open {url}: password {SECRET!r} refused; also postgresql://u:Other9@h/db"
    hidden = hide_passwords(text, url)
    assert SECRET not in hidden and "Other9" not in hidden and "cr:et" not in hidden
    assert "mysql+pymysql://root:***@127.0.0.1:3306/db" in hidden and "postgresql://u:***@h/db" in hidden


def test_a_driver_error_naming_the_password_as_a_host_hides_it() -> None:
    """pymysql takes what follows the first @ for the host, and names the host it cannot reach."""
    url = "mysql+pymysql://root:Se@cret7@127.0.0.1:1/db"
    with pytest.raises(StoreError) as caught:
        ArticleStore(url, timeouts=Timeouts(connect=2, read=2)).counts()
    message = str(caught.value)
    assert message.startswith("database mysql+pymysql://root:***@127.0.0.1:1/db failed: ")
    assert "cret7" not in message and "***@127.0.0.1" in message
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize(
    "url", ["mysql+pymysql://root:Secret7@127.0.0.1:1/db", "postgresql+psycopg://root:Secret7@127.0.0.1:1/db"]
)
def test_a_refused_connection_is_named_without_the_password(url: str) -> None:
    with pytest.raises(StoreError) as caught:
        ArticleStore(url, timeouts=Timeouts(connect=2, read=2)).counts()
    assert "Secret7" not in str(caught.value) and ":***@127.0.0.1:1/db failed: " in str(caught.value)


def test_describe_db_error_hides_a_password_the_driver_quotes() -> None:
    url = "postgresql+psycopg://root:Secret7@127.0.0.1/db"
    said = describe_db_error(url, RuntimeError("bad password 'Secret7' for root"))
    assert said == "database postgresql+psycopg://root:***@127.0.0.1/db failed: bad password '***' for root"
