"""--from-db: a live wiki_article table on SQLite, MariaDB and PostgreSQL, read in keyset batches;
failures of either database, including a connection killed mid-ingest, leave nothing half-written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from retrieval.errors import SourceError, StoreError
from retrieval.storage.articles import ArticleStore
from retrieval.storage.ingest import ingest_database, ingest_paths
from tests.retrieval.corpus_factory import stored_articles

MARIADB_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/test"

DDL = {
    "sqlite": "CREATE TABLE {t} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "article_id VARCHAR(255) NOT NULL UNIQUE, title TEXT, article TEXT, img_url TEXT)",
    "mysql": "CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, article_id VARCHAR(255) NOT NULL UNIQUE, "
    "title VARCHAR(255), article MEDIUMTEXT, img_url VARCHAR(1024)) CHARACTER SET utf8mb4",
    "postgresql": "CREATE TABLE {t} (id SERIAL PRIMARY KEY, article_id VARCHAR(255) NOT NULL UNIQUE, "
    "title TEXT, article TEXT, img_url TEXT)",
}


def rows(count: int) -> list[dict]:
    made = [
        {"article_id": f"a{i:04d}", "title": f"T{i}", "article": f"Body {i} 🇺🇦\n\nit's", "img_url": ""}
        for i in range(count)
    ]
    made[1] |= {"title": None, "img_url": None}
    made[2] |= {"article": ""}
    return made


def fill(url: str, table: str, data: list[dict], ddl: str | None = None) -> None:
    engine = create_engine(url)
    backend = make_url(url).get_backend_name()
    with engine.begin() as conn:
        conn.execute(text((ddl or DDL[backend]).format(t=table)))
        if data:
            names = list(data[0])
            columns, params = ", ".join(names), ", ".join(f":{name}" for name in names)
            conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), data)
    engine.dispose()


def stored(store: ArticleStore) -> list[dict]:
    return [
        {"article_id": a.article_id, "title": a.title, "article": a.article, "img_url": a.img_url}
        for a in stored_articles(store)
    ]


@pytest.fixture
def source_sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'source.db'}"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("mariadb", marks=pytest.mark.server),
        pytest.param("postgresql", marks=pytest.mark.server),
    ]
)
def source_url(request: pytest.FixtureRequest) -> str:
    name = {"sqlite": "source_sqlite", "mariadb": "mariadb_url", "postgresql": "postgres_url"}[request.param]
    return request.getfixturevalue(name)


def test_a_live_table_is_read_in_batches_with_values_as_given(source_url: str, sqlite_url: str) -> None:
    fill(source_url, "wiki_article", rows(23))
    store = ArticleStore(sqlite_url)
    report = ingest_database(store, source_url, batch_size=5)
    assert stored(store) == rows(23)
    assert (report.counts.new, report.counts.empty) == (23, 1)
    assert ingest_database(store, source_url, batch_size=5).counts.unchanged == 23
    store.close()


def test_a_table_of_another_name_without_an_integer_key_pages_by_article_id(
    source_sqlite: str, sqlite_url: str
) -> None:
    no_images = [{k: v for k, v in row.items() if k != "img_url"} for row in rows(12)]
    fill(
        source_sqlite,
        "articles",
        no_images,
        "CREATE TABLE {t} (article_id TEXT PRIMARY KEY, title TEXT, article TEXT)",
    )
    store = ArticleStore(sqlite_url)
    ingest_database(store, source_sqlite, table="articles", batch_size=5)
    assert [a["article_id"] for a in stored(store)] == [r["article_id"] for r in rows(12)]
    assert all(a["img_url"] is None for a in stored(store))
    store.close()


def test_skip_bad_skips_a_row_without_article_id(source_sqlite: str, sqlite_url: str) -> None:
    fill(source_sqlite, "wiki_article", rows(3), DDL["sqlite"].replace("NOT NULL UNIQUE", "UNIQUE"))
    engine = create_engine(source_sqlite)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO wiki_article (article_id, title) VALUES (NULL, 'no id')"))
    engine.dispose()
    store = ArticleStore(sqlite_url)
    with pytest.raises(SourceError, match="the row with id 4: the row has no article_id"):
        ingest_database(store, source_sqlite)
    assert store.counts() == (0, 0)
    report = ingest_database(store, source_sqlite, skip_bad=True)
    assert report.counts.new == 3 and len(report.skipped) == 1
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql+pymysql://root@127.0.0.1:1/nowhere", "cannot be read"),
        ("postgresql+psycopg://root@127.0.0.1:1/nowhere", "cannot be read"),
        ("sqlite:////no/such/file.db", "no such SQLite database file"),
        ("not a url", "is not a database URL"),
    ],
)
def test_an_unreachable_database_is_one_sentence(sqlite_url: str, url: str, message: str) -> None:
    store = ArticleStore(sqlite_url)
    with pytest.raises(SourceError) as raised:
        ingest_database(store, url)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    store.close()


def test_a_missing_table_or_column_is_named(source_sqlite: str, sqlite_url: str) -> None:
    fill(source_sqlite, "other", [], "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT)")
    store = ArticleStore(sqlite_url)
    with pytest.raises(SourceError, match="table wiki_article: does not exist"):
        ingest_database(store, source_sqlite)
    with pytest.raises(SourceError, match="table other: has no article_id column"):
        ingest_database(store, source_sqlite, table="other")
    store.close()


def _kill_once(admin_url: str, database: str, after: int) -> Callable[[int], None]:
    """A progress callback that, once ``after`` articles went by, kills every connection to ``database``."""
    done = {"articles": 0, "killed": False}

    def on_progress(amount: int) -> None:
        done["articles"] += amount
        if done["articles"] >= after and not done["killed"]:
            done["killed"] = True
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                ids = (
                    conn.execute(
                        text(
                            "SELECT id FROM information_schema.PROCESSLIST "
                            "WHERE db = :db AND id <> CONNECTION_ID()"
                        ),
                        {"db": database},
                    )
                    .scalars()
                    .all()
                )
                assert ids, "no connection to kill"
                for connection_id in ids:
                    conn.execute(text(f"KILL {int(connection_id)}"))
            admin.dispose()

    return on_progress


@pytest.mark.server
def test_killing_the_source_connection_mid_ingest_writes_nothing(mariadb_url: str, sqlite_url: str) -> None:
    fill(mariadb_url, "wiki_article", rows(900))
    store = ArticleStore(sqlite_url)
    kill = _kill_once(MARIADB_ADMIN, make_url(mariadb_url).database, after=300)
    with pytest.raises(SourceError) as raised:
        ingest_database(store, mariadb_url, batch_size=100, on_progress=kill)
    assert "cannot be read" in str(raised.value) and "nothing from it was written" in str(raised.value)
    assert store.counts() == (0, 0)
    store.close()


@pytest.mark.server
def test_killing_the_store_connection_mid_ingest_writes_nothing(mariadb_url: str, tmp_path: Path) -> None:
    source = tmp_path / "many.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows(2600)))
    store = ArticleStore(mariadb_url)
    store.ensure_schema()
    kill = _kill_once(MARIADB_ADMIN, make_url(mariadb_url).database, after=2100)
    with pytest.raises(StoreError) as raised:
        ingest_paths(store, [source], on_progress=kill)
    assert "nothing from" in str(raised.value) and "\n" not in str(raised.value)
    store.close()
    fresh = ArticleStore(mariadb_url)
    assert fresh.counts() == (0, 0)
    fresh.close()


def test_files_ingest_into_every_store_backend(store_url: str, tmp_path: Path) -> None:
    source = tmp_path / "a.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows(7)), encoding="utf-8")
    store = ArticleStore(store_url)
    assert ingest_paths(store, [source]).counts.new == 7
    assert stored(store) == rows(7)
    assert ingest_paths(store, [source]).counts.unchanged == 7
    store.close()
