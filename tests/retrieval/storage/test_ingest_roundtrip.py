"""The real round trip: the SQuAD dump loaded into MariaDB with the mariadb client, dumped back with
mariadb-dump in both its forms, and each dump ingested: all 48 articles must equal articles.jsonl."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from retrieval.storage.articles import ArticleStore
from retrieval.storage.ingest import ingest_paths
from tests.paths import EVAL
from tests.retrieval.corpus_factory import stored_articles

SQUAD = EVAL / "squad"

pytestmark = [pytest.mark.server, pytest.mark.eval]


@pytest.fixture
def squad() -> Path:
    if not (SQUAD / "wiki_article.sql").is_file() or not (SQUAD / "articles.jsonl").is_file():
        pytest.skip(f"the SQuAD dump is not at {SQUAD.resolve()}; the round-trip test is skipped")
    for tool in ("mariadb", "mariadb-dump"):
        if shutil.which(tool) is None:
            pytest.skip(f"the {tool} client is not installed; the round-trip test is skipped")
    return SQUAD


@pytest.fixture
def loaded(squad: Path, mariadb_url: str) -> list[str]:
    """Client arguments for a MariaDB database holding the SQuAD dump, loaded by the mariadb client."""
    url = make_url(mariadb_url)
    args = [
        f"--host={url.host}",
        f"--port={url.port or 3306}",
        f"--user={url.username}",
        "--default-character-set=utf8mb4",
    ]
    if url.password:
        args.append(f"--password={url.password}")
    with (squad / "wiki_article.sql").open("rb") as dump:
        subprocess.run(["mariadb", *args, url.database], stdin=dump, check=True, capture_output=True)
    return [*args, url.database]


def expected(squad: Path) -> list[dict]:
    with (squad / "articles.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


@pytest.mark.parametrize(
    "dump_options",
    [[], ["--skip-extended-insert", "--complete-insert"]],
    ids=["extended", "one-row-per-insert"],
)
@pytest.mark.parametrize("compressed", [False, True], ids=["sql", "sql.gz"])
def test_mariadb_dump_round_trip_gives_back_every_article_exactly(
    squad: Path, loaded: list[str], dump_options: list[str], compressed: bool, tmp_path: Path
) -> None:
    dumped = subprocess.run(
        ["mariadb-dump", *dump_options, *loaded[:-1], loaded[-1], "wiki_article"],
        check=True,
        capture_output=True,
    ).stdout
    path = tmp_path / ("dump.sql.gz" if compressed else "dump.sql")
    path.write_bytes(gzip.compress(dumped) if compressed else dumped)

    store = ArticleStore(f"sqlite:///{tmp_path / 'store.db'}")
    report = ingest_paths(store, [path])
    articles = list(stored_articles(store))
    store.close()

    want = expected(squad)
    assert report.counts.new == len(want) == 48
    assert [(a.article_id, a.title, a.article, a.img_url) for a in articles] == [
        (row["article_id"], row["title"], row["article"], "") for row in want
    ]
    assert sum(len(a.article) for a in articles) == 1_604_569
