"""Snapshot life cycle: build beside the live one, swap atomically, refuse concurrent builds, follow swaps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import SnapshotError
from retrieval.index.build import BuildOptions, build_snapshot
from retrieval.index.format import MANIFEST, SNAPSHOT_FORMAT, inventory
from retrieval.index.live import LiveSnapshot
from retrieval.index.lock import BuildLock, is_locked
from retrieval.index.publish import CURRENT, LOCK_FILE, current_version, load_snapshot
from retrieval.storage.articles import ArticleStore
from retrieval.storage.records import ArticleRecord
from tests.retrieval.corpus_factory import fill_store, make_records

SOURCE = "https://en.wikipedia.org/wiki/{article_id}"


def _build(store: ArticleStore, snapshots: Path, **kwargs):
    return build_snapshot(store, snapshots, source_url=SOURCE, **kwargs)


def _answers(snapshots: Path, word: str) -> list[str]:
    snapshot = load_snapshot(snapshots)
    pids, _ = snapshot.index.first_stage(snapshot.index.term_ids(snapshot.analyzer.terms(word)), 5)
    return [snapshot.passages.get(int(p)).article_id for p in pids]


def test_build_makes_a_self_contained_live_snapshot(tmp_path: Path) -> None:
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(30))
    progress: list[int] = []
    options = BuildOptions(on_progress=lambda done, total: progress.append(done))
    info = _build(store, tmp_path / "snapshots", options=options)
    assert current_version(tmp_path / "snapshots") == info.version
    assert (info.articles, sum(progress)) == (30, 30)
    assert info.passages >= 30 and info.vocabulary > 50 and info.size_bytes > 0
    assert len(info.fingerprint) == 32 and info.built_at.endswith("Z")
    # Everything needed to answer is inside the folder: the store may go away.
    store.close()
    os.remove(tmp_path / "s.db")
    assert _answers(tmp_path / "snapshots", "treaty")


def test_empty_store_says_nothing_to_index_and_keeps_no_folder(tmp_path: Path) -> None:
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", [ArticleRecord("blank", "Blank", "  \n ", None)])
    with pytest.raises(SnapshotError, match="nothing to index"):
        _build(store, tmp_path / "snapshots")
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == [LOCK_FILE]
    with pytest.raises(SnapshotError, match="no index snapshot"):
        load_snapshot(tmp_path / "snapshots")


def test_second_build_is_refused_while_one_holds_the_lock(tmp_path: Path) -> None:
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(5))
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    with BuildLock(snapshots / LOCK_FILE):
        assert is_locked(snapshots / LOCK_FILE)
        with pytest.raises(
            SnapshotError, match=rf"another reindex is already running \(process {os.getpid()}"
        ):
            _build(store, snapshots)
    assert not is_locked(snapshots / LOCK_FILE)
    assert _build(store, snapshots).articles == 5


HOLD_LOCK = """
import pathlib, sys
from retrieval.index.lock import BuildLock
BuildLock(pathlib.Path(sys.argv[1])).acquire()
print("held", flush=True)
sys.stdin.read()
"""


def test_lock_of_a_killed_holder_is_free(tmp_path: Path) -> None:
    lock = tmp_path / LOCK_FILE
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert is_locked(lock)
        holder.kill()
        holder.wait()
        with BuildLock(lock):
            pass
    finally:
        holder.kill()


def test_abandoned_build_folders_are_removed_and_old_snapshots_pruned(tmp_path: Path) -> None:
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(5))
    snapshots = tmp_path / "snapshots"
    versions = [_build(store, snapshots).version]
    (snapshots / ".build-deadbeef").mkdir()
    (snapshots / ".build-deadbeef" / "passages.text.bin").write_bytes(b"half")
    for _ in range(3):
        versions.append(_build(store, snapshots).version)
    names = sorted(p.name for p in snapshots.iterdir())
    assert names == sorted([*versions[-2:], CURRENT, LOCK_FILE])
    assert current_version(snapshots) == versions[-1]


def test_failed_build_leaves_the_live_snapshot_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(5))
    snapshots = tmp_path / "snapshots"
    live = _build(store, snapshots).version

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("retrieval.index.writer.save_bm25s", broken)
    with pytest.raises(SnapshotError, match=r"cannot write the index snapshot .* \(disk full\); the live"):
        _build(store, snapshots)
    assert current_version(snapshots) == live
    assert not [p for p in snapshots.iterdir() if p.name.startswith(".build-")]
    assert _answers(snapshots, "treaty")


def test_damaged_snapshot_gives_a_clear_error(tmp_path: Path) -> None:
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(3))
    info = _build(store, tmp_path / "snapshots")
    (info.path / "passages.meta.i32").write_bytes(b"")
    with pytest.raises(SnapshotError, match="is damaged"):
        load_snapshot(tmp_path / "snapshots")
    (info.path / "manifest.json").unlink()
    with pytest.raises(SnapshotError, match="is damaged"):
        load_snapshot(tmp_path / "snapshots")


def test_a_snapshot_built_for_the_old_rank_bm25_engine_is_served_by_bm25s(tmp_path: Path) -> None:
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(10))
    info = _build(store, tmp_path / "snapshots")
    expected = _answers(tmp_path / "snapshots", "river")
    # What ``reindex --engine rank-bm25`` wrote before the option went: the engine's name in the
    # manifest and the passages' bags beside the BM25 matrix, all listed with their checksums.
    manifest = json.loads((info.path / MANIFEST).read_text(encoding="utf-8"))
    for name in ("bags.terms.i32", "bags.tf.u16", "bags.nnz.npy"):
        (info.path / name).write_bytes(b"\x01" * 64)
    files = {name: {"bytes": r.size, "blake2b": r.blake2b} for name, r in inventory(info.path).items()}
    old = {**manifest, "format": SNAPSHOT_FORMAT, "engine": "rank-bm25", "files": files}
    (info.path / MANIFEST).write_text(json.dumps(old), encoding="utf-8")
    assert load_snapshot(tmp_path / "snapshots").info.version == info.version
    assert _answers(tmp_path / "snapshots", "river") == expected


def test_live_snapshot_picks_up_a_new_build_without_restart(tmp_path: Path) -> None:
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(10))
    snapshots = tmp_path / "snapshots"
    first = _build(store, snapshots)
    live = LiveSnapshot(snapshots)
    before = live.current()
    assert before.info.version == first.version
    assert live.current() is before  # nothing changed: the same object, no reload

    store.upsert(
        [ArticleRecord("Zanzibar", "Zanzibar", "Zanzibar is an archipelago famous for cloves.", None)],
        source="update",
    )
    second = _build(store, snapshots)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(live.current().info.version)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [second.version] * 8
    after = live.current()
    assert after is not before and after.info.articles == 11
    pids, _ = after.index.first_stage(after.index.term_ids(["zanzibar"]), 3)
    assert after.passages.get(int(pids[0])).article_id == "Zanzibar"
    # The old snapshot object still answers for whoever holds it.
    assert before.index.first_stage(before.index.term_ids(["treati"]), 3)[0].size


def test_build_in_worker_processes_gives_the_same_index(
    tmp_path: Path, built_words: list[dict[str, int]]
) -> None:
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(1200, seed=3))
    _build(store, tmp_path / "serial", options=BuildOptions(workers=0))
    _build(store, tmp_path / "parallel", options=BuildOptions(workers=2))
    serial, parallel = load_snapshot(tmp_path / "serial"), load_snapshot(tmp_path / "parallel")
    assert (serial.info.passages, serial.info.vocabulary) == (
        parallel.info.passages,
        parallel.info.vocabulary,
    )
    assert serial.info.fingerprint == parallel.info.fingerprint
    serial_words, parallel_words = built_words
    assert serial_words == parallel_words
    for pid in (0, 1, len(serial) // 2, len(serial) - 1):
        assert serial.passages.get(pid) == parallel.passages.get(pid)
        terms = [serial.index.vocab.term(int(t)) for t in serial.tokens.passage_tokens(pid)]
        assert terms == [parallel.index.vocab.term(int(t)) for t in parallel.tokens.passage_tokens(pid)]
    for words in ("treaty river", "castle museum bridge", "coal"):
        terms = serial.analyzer.terms(words)
        got = parallel.index.first_stage(parallel.index.term_ids(terms), 10)
        expected = serial.index.first_stage(serial.index.term_ids(terms), 10)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-6)


def test_build_reads_every_store_backend(store_url: str, tmp_path: Path) -> None:
    store = fill_store(
        store_url, [*make_records(8), ArticleRecord("Ünïcode", "Ünïcode", "Київ on the Dnipro.", None)]
    )
    info = _build(store, tmp_path / "snapshots")
    store.close()
    assert info.articles == 9
    assert _answers(tmp_path / "snapshots", "Київ") == ["Ünïcode"]
