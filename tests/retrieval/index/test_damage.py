"""Damaged snapshots: every file truncated, deleted or altered is caught at load, a whole previous
snapshot stands in (and says so), and with none the one sentence says what to do."""

from __future__ import annotations

import errno
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import SnapshotError
from retrieval.index import format as snapshot_format
from retrieval.index import lock
from retrieval.index.build import build_snapshot
from retrieval.index.format import MANIFEST, Manifest, scales_file, sentence_vectors_file, vectors_file
from retrieval.index.publish import BUILD_PREFIX, CURRENT, current_version, load_snapshot
from retrieval.semantic.embed import EmbeddingStage
from retrieval.semantic.encoders import ROLE, encoder, installed
from retrieval.semantic.inputs import SnapshotTexts
from retrieval.semantic.vectors import open_snapshot_vectors
from retrieval.storage.records import ArticleRecord
from tests.retrieval.corpus_factory import fill_store, make_records

SOURCE = "https://en.wikipedia.org/wiki/{article_id}"
# Every installed stage, so that the files of the semantic one are damaged in turn too.
STAGES = (EmbeddingStage(),) if installed() else ()


@pytest.fixture(scope="module")
def two_snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshots folder with a live snapshot and the whole one before it, both with the passage
    vectors where the semantic model is installed, so that their files are damaged in turn too."""
    folder = tmp_path_factory.mktemp("damage")
    store = fill_store(f"sqlite:///{folder / 's.db'}", make_records(12))
    build_snapshot(store, folder / "snapshots", source_url=SOURCE, stages=STAGES)
    store.upsert([ArticleRecord("Zanzibar", "Zanzibar", "Zanzibar is famous for cloves.", None)], source="t")
    build_snapshot(store, folder / "snapshots", source_url=SOURCE, stages=STAGES)
    store.close()
    return folder / "snapshots"


def _copy(snapshots: Path, into: Path) -> tuple[Path, str, str]:
    """A private copy of the snapshots folder: (folder, live version, previous version)."""
    copy = into / "snapshots"
    shutil.copytree(snapshots, copy, symlinks=True)
    live = current_version(copy)
    (previous,) = [p.name for p in copy.iterdir() if p.is_dir() and p.name != live and p.name != CURRENT]
    return copy, live, previous


def _files(snapshots: Path) -> list[str]:
    live = snapshots / current_version(snapshots)
    return [MANIFEST, *json.loads((live / MANIFEST).read_text())["files"]]


def test_the_semantic_files_are_among_those_damaged(two_snapshots: Path) -> None:
    if not installed():
        pytest.skip("the semantic model is not installed: its files cannot be checked")
    files = _files(two_snapshots)
    assert "passages.embed_keys.u64" in files
    tables = [vectors_file(ROLE), sentence_vectors_file(ROLE)]
    assert all(table in files and scales_file(table) in files for table in tables)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _delete(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize("damage", [_truncate, _delete], ids=["truncated", "deleted"])
def test_each_damaged_file_is_caught_and_the_previous_snapshot_answers(
    two_snapshots: Path, tmp_path: Path, damage
) -> None:
    for number, name in enumerate(_files(two_snapshots)):
        snapshots, live, previous = _copy(two_snapshots, tmp_path / str(number))
        damage(snapshots / live / name)
        warnings: list[str] = []
        snapshot = load_snapshot(snapshots, warn=warnings.append)
        assert snapshot.info.version == previous, name
        (warning,) = warnings
        assert warning.startswith(f"the index snapshot {live} is damaged (") and name in warning
        assert warning.endswith(
            f"answering from the previous snapshot {previous} until wikiqa reindex builds a new one"
        )
        assert snapshot.passages.get(0).text  # and it really answers


@pytest.mark.parametrize("damage", [_truncate, _delete], ids=["truncated", "deleted"])
def test_each_damaged_file_without_a_previous_snapshot_is_the_one_sentence(
    two_snapshots: Path, tmp_path: Path, damage
) -> None:
    for number, name in enumerate(_files(two_snapshots)):
        snapshots, live, previous = _copy(two_snapshots, tmp_path / str(number))
        shutil.rmtree(snapshots / previous)
        damage(snapshots / live / name)
        with pytest.raises(SnapshotError) as caught:
            load_snapshot(snapshots, warn=pytest.fail)
        message = str(caught.value)
        assert message.startswith(f"the index snapshot {live} is damaged (") and name in message, name
        assert message.endswith("); run wikiqa reindex")


def test_a_changed_byte_is_caught_at_load_in_a_small_file_and_by_verify_in_any(
    two_snapshots: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshots, live, previous = _copy(two_snapshots, tmp_path)
    shutil.rmtree(snapshots / previous)
    texts = snapshots / live / "passages.text.bin"
    data = bytearray(texts.read_bytes())
    data[5] ^= 0x20
    texts.write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match=r"passages\.text\.bin does not hold what was written"):
        load_snapshot(snapshots)
    # The same file past the size that is hashed at every load: only a full check sees it.
    monkeypatch.setattr(snapshot_format, "CHECKED_AT_LOAD_BYTES", 0)
    snapshot = load_snapshot(snapshots)
    assert snapshot.manifest.verify(snapshot.folder) == ["passages.text.bin"]


def _reindexed(
    folder: Path, between: Callable[[Path], None], warn: Callable[[str], None] = pytest.fail
) -> tuple[Path, Path]:
    """Two builds of one store with vectors, ``between`` them a call with the first's folder:
    (the first's folder, the second's). ``warn`` hears what the second build says."""
    if not installed():
        pytest.skip("the semantic model is not installed: no vectors are linked")
    store = fill_store(f"sqlite:///{folder / 's.db'}", make_records(4))
    first = build_snapshot(store, folder / "snapshots", source_url=SOURCE, stages=(EmbeddingStage(),))
    between(first.path)
    stage = EmbeddingStage(warn=warn)
    second = build_snapshot(store, folder / "snapshots", source_url=SOURCE, stages=(stage,))
    store.close()
    return first.path, second.path


LINKED = tuple(
    name
    for table in (vectors_file(ROLE), sentence_vectors_file(ROLE))
    for name in (table, scales_file(table))
)


def _flip_a_byte(path: Path) -> None:
    """Change a byte in place: the file keeps its size and inode, so links to it see the change."""
    with open(path, "r+b") as file:
        byte = file.read(1)[0]
        file.seek(0)
        file.write(bytes([byte ^ 0x20]))


def _same_file(first: Path, second: Path, name: str) -> bool:
    return (first / name).stat().st_ino == (second / name).stat().st_ino


def _verify(folder: Path) -> list[str]:
    return Manifest.read(folder).verify(folder)


def test_a_file_linked_from_the_previous_snapshot_keeps_its_recorded_checksum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not hashed again (gigabytes at a million passages), and still the right checksum."""
    checksum = snapshot_format.checksum

    def not_of_linked_files(path: Path) -> str:  # loading the built snapshot checks small ones
        assert not (path.name in LINKED and path.parent.name.startswith(BUILD_PREFIX)), path
        return checksum(path)

    first, second = _reindexed(
        tmp_path, lambda _: monkeypatch.setattr(snapshot_format, "checksum", not_of_linked_files)
    )
    before, after = (json.loads((folder / MANIFEST).read_text())["files"] for folder in (first, second))
    for name in LINKED:
        assert _same_file(first, second, name) and after[name] == before[name]
    assert _verify(second) == []


def _roll_rows(path: Path) -> None:
    """Move every row of a vectors file down by one, in place: same size, same inode, each row
    now another passage's (what a load's size check cannot see)."""
    width = 384  # int8 codes of one row
    data = path.read_bytes()
    with open(path, "r+b") as file:
        file.write(data[-width:] + data[:-width])


def test_vectors_damaged_past_the_load_check_are_embedded_again_not_passed_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reindex reads what it reuses in full: rows rolled in a large vectors file are neither
    linked into the new snapshot nor copied into it with a fresh checksum, and the admin is told."""
    monkeypatch.setattr(snapshot_format, "CHECKED_AT_LOAD_BYTES", 0)
    name = sentence_vectors_file(ROLE)
    said: list[str] = []
    first, second = _reindexed(tmp_path, lambda folder: _roll_rows(folder / name), said.append)
    assert not _same_file(first, second, name)
    assert _verify(first) == [name] and _verify(second) == []
    assert said == [
        f"the vectors of snapshot {first.name} are damaged ({name}); their passages are embedded again"
    ]
    rebuilt = load_snapshot(second.parent)
    vectors = open_snapshot_vectors(rebuilt.folder, rebuilt.manifest)
    assert vectors is not None
    sentences = SnapshotTexts(rebuilt.folder).sentence_texts(np.arange(3))
    expected = encoder().passages(sentences)
    assert np.allclose(np.sum(vectors.sentences[np.arange(3)] * expected, axis=1), 1.0, atol=2e-3)


def test_a_small_file_changed_before_a_reindex_is_computed_again(tmp_path: Path) -> None:
    """A file that fails the check a load makes is no source of vectors: the reindex repairs."""
    name = sentence_vectors_file(ROLE)
    said: list[str] = []
    first, second = _reindexed(tmp_path, lambda folder: _flip_a_byte(folder / name), said.append)
    assert not _same_file(first, second, name)
    assert _verify(first) == [name] and _verify(second) == []
    assert len(said) == 1


def test_a_manifest_missing_keys_is_damaged_not_a_key_error(two_snapshots: Path, tmp_path: Path) -> None:
    snapshots, live, previous = _copy(two_snapshots, tmp_path)
    shutil.rmtree(snapshots / previous)
    manifest = json.loads((snapshots / live / MANIFEST).read_text())
    del manifest["analyzer"], manifest["passages"]
    (snapshots / live / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(SnapshotError, match=r"is damaged \(manifest\.json lacks analyzer, passages\)"):
        load_snapshot(snapshots)


def test_current_replaced_by_a_folder_falls_back_and_a_reindex_repairs_it(
    two_snapshots: Path, tmp_path: Path
) -> None:
    snapshots, live, _ = _copy(two_snapshots, tmp_path)
    (snapshots / CURRENT).unlink()
    (snapshots / CURRENT).mkdir()
    (snapshots / CURRENT / "stray.txt").write_text("not a snapshot")
    warnings: list[str] = []
    assert load_snapshot(snapshots, warn=warnings.append).info.version == live
    assert "is not a link to an index snapshot" in warnings[0]
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(3))
    info = build_snapshot(store, snapshots, source_url=SOURCE)
    store.close()
    assert current_version(snapshots) == info.version
    assert load_snapshot(snapshots, warn=pytest.fail).info.version == info.version


def test_a_full_disk_at_the_lock_file_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = fill_store(f"sqlite:///{tmp_path / 's.db'}", make_records(3))

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(lock.os, "pwrite", no_space)
    with pytest.raises(SnapshotError) as caught:
        build_snapshot(store, tmp_path / "snapshots", source_url=SOURCE)
    assert str(caught.value) == (
        f"cannot write the index snapshot in {tmp_path / 'snapshots'} (No space left on device); "
        "the live snapshot is unchanged"
    )
    monkeypatch.undo()
    assert build_snapshot(store, tmp_path / "snapshots", source_url=SOURCE).articles == 3  # not left locked
    store.close()
