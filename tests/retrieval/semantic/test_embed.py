"""Passage vectors in the snapshot: what is embedded, what a reindex reuses, and what survives a
reindex killed in the middle of embedding."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from retrieval.index.build import build_snapshot
from retrieval.index.format import (
    MANIFEST,
    Manifest,
    int8_vectors_file,
    legacy_vectors_file,
    scales_file,
    sentence_vectors_file,
    vectors_file,
)
from retrieval.index.publish import current_version, load_snapshot
from retrieval.index.reader import Snapshot
from retrieval.semantic import embed, inputs
from retrieval.semantic.embed import WORK_FOLDER, EmbeddingStage
from retrieval.semantic.encoders import ROLE, bulk_encoder, describe, encoder, passage_input
from retrieval.semantic.vectors import (
    SnapshotVectors,
    open_snapshot_vectors,
    open_table,
    quantize,
    table_files,
)
from retrieval.storage.articles import ArticleStore
from retrieval.storage.records import ArticleRecord
from tests.paths import ROOT
from tests.retrieval.corpus_factory import fill_store, make_records
from tests.retrieval.semantic.conftest import needs_models

# How close a stored sentence vector is to the vector it codes: 6 bits keep a cosine above 0.996.
SENTENCE_SELF_COSINE = 4e-3

pytestmark = needs_models


def build(store: ArticleStore, snapshots: Path) -> tuple[str, list[int]]:
    """Build with vectors: (version, passages embedded per progress call)."""
    embedded: list[int] = []

    def progress(table: str, count: int, total: int) -> None:
        if table == ROLE:  # the passages; the sentences are "e5-sentences"
            embedded.append(count)

    info = build_snapshot(store, snapshots, source_url="", stages=(EmbeddingStage(on_progress=progress),))
    return info.version, embedded


def vectors_of(snapshot: Snapshot) -> SnapshotVectors:
    found = open_snapshot_vectors(snapshot.folder, snapshot.manifest)
    assert found is not None
    return found


def test_each_passage_and_sentence_is_embedded_and_the_model_is_recorded(tmp_path: Path) -> None:
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(6))
    build(store, tmp_path / "snapshots")
    store.close()
    snapshot = load_snapshot(tmp_path / "snapshots")
    assert snapshot.manifest.semantic == {ROLE: describe()}
    assert vectors_file(ROLE) in snapshot.manifest.files
    assert snapshot.info.semantic == ("multilingual-e5-small",)
    pids = np.arange(len(snapshot))
    inputs = [passage_input(snapshot.passages.title(p), snapshot.passages.text(p)) for p in pids.tolist()]
    expected = encoder().passages(inputs)
    table = vectors_of(snapshot).passages
    for pid in pids.tolist():  # each stored row is its passage's vector (int8 precision)
        assert table.cosines(np.array([pid]), expected[pid])[0] == pytest.approx(1.0, abs=2e-3)
    assert snapshot.manifest.sentence_vectors == {ROLE: describe()}
    sentences = [
        snapshot.passages.text(p)[s:e] for p in pids.tolist() for s, e in snapshot.passages.sentence_spans(p)
    ]
    assert len(vectors_of(snapshot).sentences) == len(sentences)
    expected = encoder().passages(sentences)
    stored = vectors_of(snapshot).sentences
    for row in range(len(sentences)):
        assert stored.cosines(np.array([row]), expected[row])[0] == pytest.approx(
            1.0, abs=SENTENCE_SELF_COSINE
        )


def test_the_shared_snapshot_holds_every_sentence_embedded_as_a_reindex_embeds_it(
    semantic_snapshot: Snapshot,
) -> None:
    """Questions weigh a passage's best sentence: each sentence has its vector, in its row."""
    passages = semantic_snapshot.passages
    pids = range(len(semantic_snapshot))
    sentences = [passages.text(p)[s:e] for p in pids for s, e in passages.sentence_spans(p)]
    assert semantic_snapshot.manifest.sentence_vectors == {ROLE: describe()}
    stored = vectors_of(semantic_snapshot).sentences
    assert len(stored) == len(sentences)
    rows = list(range(0, len(sentences), 7))  # a sample: embedding them all again costs seconds
    expected = bulk_encoder().passages([sentences[row] for row in rows])
    for row, vector in zip(rows, expected, strict=True):
        assert stored.cosines(np.array([row]), vector)[0] == pytest.approx(1.0, abs=SENTENCE_SELF_COSINE), row


def test_a_reindex_embeds_only_new_or_changed_passages(tmp_path: Path) -> None:
    records = make_records(8)
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", records)
    first, embedded = build(store, tmp_path / "snapshots")
    passages = len(load_snapshot(tmp_path / "snapshots"))
    assert sum(embedded) == passages
    second, embedded = build(store, tmp_path / "snapshots")
    assert second != first and embedded == []  # nothing changed: every vector is reused
    tables = (vectors_file(ROLE), sentence_vectors_file(ROLE))
    for name in [name for table in tables for name in (table, scales_file(table))]:  # linked, not copied
        assert (tmp_path / "snapshots" / first / name).stat().st_ino == (
            tmp_path / "snapshots" / second / name
        ).stat().st_ino
    changed = records[0]
    store.upsert(
        [ArticleRecord(changed.article_id, changed.title, "A new short body about cloves.", None)], source="t"
    )
    _, embedded = build(store, tmp_path / "snapshots")
    assert sum(embedded) == 1  # the changed article's one passage
    store.close()
    rebuilt = load_snapshot(tmp_path / "snapshots")
    vector = encoder().passages([passage_input(changed.title, "A new short body about cloves.")])[0]
    pid = next(p for p in range(len(rebuilt)) if rebuilt.passages.text(p) == "A new short body about cloves.")
    assert vectors_of(rebuilt).passages.cosines(np.array([pid]), vector)[0] == pytest.approx(1.0, abs=2e-3)


def _texts(snapshot: Snapshot) -> tuple[list[str], list[str]]:
    """(every passage input, every sentence) of ``snapshot``, as a search reads them."""
    pids = range(len(snapshot))
    passages = [passage_input(snapshot.passages.title(p), snapshot.passages.text(p)) for p in pids]
    sentences = [snapshot.passages.text(p)[s:e] for p in pids for s, e in snapshot.passages.sentence_spans(p)]
    return passages, sentences


class _Recording:
    """An encoder that remembers every text it is given."""

    def __init__(self, seen: list[str]) -> None:
        self._encoder = encoder()
        self._seen = seen

    def passages(self, texts: list[str]) -> np.ndarray:
        self._seen.extend(texts)
        return self._encoder.passages(texts)


def test_a_changed_passage_has_exactly_its_new_sentences_embedded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = make_records(6)
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", records)
    build(store, tmp_path / "snapshots")
    old_passages, old_sentences = _texts(load_snapshot(tmp_path / "snapshots"))
    changed = records[1]
    kept = changed.article.split("\n\n")[0]  # the changed passage keeps these sentences
    body = f"{kept}\n\nCloves grow on Zanzibar. They are dried flower buds."
    store.upsert([ArticleRecord(changed.article_id, changed.title, body, None)], source="t")
    seen: list[str] = []
    monkeypatch.setattr(embed, "bulk_encoder", lambda: _Recording(seen))
    build(store, tmp_path / "snapshots")
    store.close()
    rebuilt = load_snapshot(tmp_path / "snapshots")
    passages, sentences = _texts(rebuilt)
    new_passages = [p for p in passages if p not in set(old_passages)]
    new_sentences = [s for s in sentences if s not in set(old_sentences)]
    assert "Cloves grow on Zanzibar." in new_sentences and kept.split(". ")[0] + "." in old_sentences
    assert sorted(seen) == sorted(new_passages + new_sentences)
    expected = encoder().passages(sentences)  # kept and new rows each in their place
    stored = vectors_of(rebuilt).sentences
    for row in range(len(sentences)):
        assert stored.cosines(np.array([row]), expected[row])[0] == pytest.approx(
            1.0, abs=SENTENCE_SELF_COSINE
        )


def test_a_reindex_of_an_unchanged_store_neither_makes_nor_hashes_a_text_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The passages' keys are hashed from the stored bytes; every sentence's key comes from the
    earlier snapshot (some nine million at a million passages)."""
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(6))
    build(store, tmp_path / "snapshots")

    def no_text(*args: object) -> None:
        pytest.fail("a text was made or hashed again")

    monkeypatch.setattr(inputs, "input_keys", no_text)
    monkeypatch.setattr(inputs.SnapshotTexts, "passage_inputs", no_text)
    monkeypatch.setattr(inputs.SnapshotTexts, "sentence_texts", no_text)
    monkeypatch.setattr(embed, "bulk_encoder", no_text)
    _, embedded = build(store, tmp_path / "snapshots")
    store.close()
    assert embedded == []


def _as_older_snapshot(folder: Path, form: str) -> None:
    """Store ``folder``'s vectors as older snapshots did: one float16 file a table (``"float16"``),
    or int8 codes for the sentences as for the passages (``"int8"``)."""
    manifest = Manifest.read(folder)
    width = describe()["dimensions"]
    tables = {vectors_file(ROLE): manifest.passages, sentence_vectors_file(ROLE): manifest.sentences}
    for name, rows in tables.items():
        vectors = open_table(folder, name, rows, width)[:]
        for stored in table_files(folder, name):
            (folder / stored).unlink()
        if form == "float16":
            vectors.astype(np.float16).tofile(folder / legacy_vectors_file(name))
        else:
            codes, scales = quantize(vectors)
            codes.tofile(folder / int8_vectors_file(name))
            scales.tofile(folder / scales_file(int8_vectors_file(name)))
    manifest.write(folder)


@pytest.mark.parametrize("form", ["float16", "int8"])
def test_a_snapshot_of_an_older_vector_format_still_answers_and_its_vectors_are_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    """Upgrading wikiqa neither stops the bot nor embeds the corpus again (hours at a million):
    the next reindex re-codes the older rows."""
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(6))
    old, _ = build(store, tmp_path / "snapshots")
    _as_older_snapshot(tmp_path / "snapshots" / old, form)
    older = load_snapshot(tmp_path / "snapshots", warn=pytest.fail)
    passages, sentences = _texts(older)
    expected = encoder().passages(passages)
    assert older.info.version == old
    assert vectors_of(older).passages.cosines(np.array([0]), expected[0])[0] == pytest.approx(1.0, abs=2e-3)

    monkeypatch.setattr(embed, "bulk_encoder", lambda: pytest.fail("a text was embedded again"))
    new, embedded = build(store, tmp_path / "snapshots")
    store.close()
    assert embedded == [] and new != old
    rebuilt = load_snapshot(tmp_path / "snapshots", warn=pytest.fail)
    assert {vectors_file(ROLE), sentence_vectors_file(ROLE)} <= set(rebuilt.manifest.files)
    for pid, vector in enumerate(expected):
        assert vectors_of(rebuilt).passages.cosines(np.array([pid]), vector)[0] == pytest.approx(
            1.0, abs=2e-3
        )
    for row, vector in enumerate(encoder().passages(sentences)):
        assert vectors_of(rebuilt).sentences.cosines(np.array([row]), vector)[0] == pytest.approx(
            1.0, abs=SENTENCE_SELF_COSINE
        )


KILLED_REINDEX = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from retrieval.semantic import embed
    from retrieval.index.build import build_snapshot
    from retrieval.storage.articles import ArticleStore

    embed.CALL_CHARS, embed.SEGMENT = 1, 8  # one text an encode call, a segment saved every eight
    done = 0

    def progress(role, n, total):
        global done
        done += n
        if done > embed.SEGMENT:  # one segment saved, the next one half embedded
            os.kill(os.getpid(), signal.SIGKILL)

    store = ArticleStore(sys.argv[1])
    stage = embed.EmbeddingStage(on_progress=progress)
    build_snapshot(store, Path(sys.argv[2]), source_url="", stages=(stage,))
    """
)


def test_a_reindex_killed_while_embedding_keeps_what_it_embedded_and_the_live_snapshot(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    snapshots = tmp_path / "snapshots"
    store = fill_store(url, make_records(3))
    live, _ = build(store, snapshots)
    store.upsert(make_records(30, seed=7), source="more")
    store.close()
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_REINDEX, url, str(snapshots)], cwd=ROOT, capture_output=True, text=True
    )
    assert killed.returncode == -9, killed.stderr
    assert current_version(snapshots) == live
    assert load_snapshot(snapshots, warn=pytest.fail).info.version == live  # still answering
    assert list((snapshots / WORK_FOLDER).rglob("*.npz"))  # the finished segment is kept

    store = ArticleStore(url)
    _, embedded = build(store, snapshots)
    store.close()
    new_passages = (
        len(load_snapshot(snapshots)) - json.loads((snapshots / live / MANIFEST).read_text())["passages"]
    )
    assert sum(embedded) == new_passages - 8  # the 8 saved before the kill are not embedded again
    assert not (snapshots / WORK_FOLDER).exists()  # a live snapshot now holds them


def in_use(seen: list[int], store: ArticleStore) -> None:
    seen.append(store.engine.pool.checkedout())


def test_the_store_is_no_longer_read_while_passages_are_embedded(tmp_path: Path) -> None:
    """Embedding may take hours; the store's read transaction (one consistent state) must not
    stay open through it."""
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(4))
    connections_in_use: list[int] = []
    build_snapshot(
        store,
        tmp_path / "snapshots",
        source_url="",
        stages=(EmbeddingStage(on_progress=lambda *_: in_use(connections_in_use, store)),),
    )
    store.close()
    assert connections_in_use and set(connections_in_use) == {0}


def test_encode_calls_take_consecutive_slices_of_about_call_chars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed, "CALL_CHARS", 10)
    texts = ["a" * 4] * 5 + ["b" * 30, "c"]
    assert list(embed.call_slices(texts)) == [(0, 3), (3, 6), (6, 7)]
    assert list(embed.call_slices([])) == []


class _SameRow:
    """A stand-in encoder: one unit row for every text, and a count of the texts it was given."""

    def __init__(self, width: int) -> None:
        self.row = np.eye(width, dtype=np.float32)[0]
        self.texts = 0

    def passages(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return np.tile(self.row, (len(texts), 1))


def test_a_stage_given_an_encoder_embeds_with_it_and_never_loads_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How benchmarks/search.py builds large snapshots in minutes: stand-in vectors, recorded as
    the model's, so that questions embedded by the model are searched against them."""
    monkeypatch.setattr(embed, "bulk_encoder", lambda: pytest.fail("the model was loaded"))
    stand_in = _SameRow(describe()["dimensions"])
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(3))
    build_snapshot(store, tmp_path / "snapshots", source_url="", stages=(EmbeddingStage(encoder=stand_in),))
    store.close()
    snapshot = load_snapshot(tmp_path / "snapshots")
    passages, sentences = _texts(snapshot)
    assert stand_in.texts == len(passages) + len(sentences)
    assert snapshot.info.semantic == ("multilingual-e5-small",)
    vectors = vectors_of(snapshot)
    for table, rows in ((vectors.passages, len(passages)), (vectors.sentences, len(sentences))):
        assert table.cosines(np.arange(rows), stand_in.row) == pytest.approx(1.0, abs=SENTENCE_SELF_COSINE)
