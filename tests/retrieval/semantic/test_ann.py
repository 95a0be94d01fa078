"""The nearest-neighbour index of large corpora: what it finds, and how a reindex builds or reuses it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.index.build import build_snapshot
from retrieval.index.format import MANIFEST, ann_file
from retrieval.index.publish import load_snapshot
from retrieval.semantic import embed
from retrieval.semantic.ann import IvfIndex, build_ivf
from retrieval.semantic.embed import EmbeddingStage
from retrieval.semantic.encoders import ROLE
from retrieval.semantic.vectors import open_snapshot_vectors
from tests.retrieval.corpus_factory import fill_store, make_records
from tests.retrieval.semantic.conftest import needs_models

pytest.importorskip("faiss", reason="faiss-cpu is not installed: pip install -e '.[dev]'")


def clustered(count: int, width: int, seed: int) -> np.ndarray:
    """Unit vectors around 50 centres: like sentence embeddings, unlike uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, width))
    rows = centres[rng.integers(0, 50, count)] + 0.5 * rng.standard_normal((count, width))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float16)


def test_the_index_finds_nearly_all_true_nearest_neighbours(tmp_path: Path) -> None:
    vectors = clustered(5000, 64, seed=1)
    entry = build_ivf(vectors, tmp_path / "index.ivf")
    index = IvfIndex(tmp_path / "index.ivf", entry["nprobe"])
    dense = vectors.astype(np.float32)
    found = total = 0
    for query in clustered(50, 64, seed=1)[:50].astype(np.float32):
        ids, scores = index.nearest(query, 10)
        truth = set(np.argsort(-(dense @ query))[:10].tolist())
        found += len(truth & set(ids.tolist()))
        total += 10
        assert np.all(np.diff(scores) <= 1e-6)  # best first
    assert found / total >= 0.9


@needs_models
def test_a_large_corpus_gets_an_index_that_an_unchanged_reindex_reuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embed, "ANN_FROM_PASSAGES", 1)  # every corpus counts as large
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(40))
    first = build_snapshot(store, tmp_path / "snapshots", source_url="", stages=(EmbeddingStage(),))
    second = build_snapshot(store, tmp_path / "snapshots", source_url="", stages=(EmbeddingStage(),))
    store.close()
    index = ann_file(ROLE)
    manifest = json.loads((second.path / MANIFEST).read_text())
    assert manifest["ann"][ROLE]["kind"] == "faiss-ivf-sq8" and index in manifest["files"]
    assert (first.path / index).read_bytes() == (second.path / index).read_bytes()
    snapshot = load_snapshot(tmp_path / "snapshots")
    vectors = open_snapshot_vectors(snapshot.folder, snapshot.manifest)
    assert vectors is not None
    table = vectors.passages
    query = table[7]
    query /= np.linalg.norm(query)
    ids, _ = table.nearest(query, 5)
    assert 7 in ids.tolist()  # a passage's own vector finds it through the index
