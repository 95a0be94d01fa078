"""The manifest: written with the folder's inventory, read back whole, refused when incomplete."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.errors import SnapshotError
from retrieval.index.format import MANIFEST, FileRecord, Manifest, checksum


def _manifest() -> Manifest:
    return Manifest(
        version="v1",
        built_at="2026-12-07T10:00:00Z",
        source_url="https://example.org/{article_id}",
        fingerprint="f",
        analyzer={"stem": True},
        bm25={"k1": 1.2},
        articles=2,
        passages=3,
        vocabulary=4,
        avgdl=5.5,
        sentences=6,
        semantic={"e5": {"model": "multilingual-e5-small", "dimensions": 384}},
    )


def test_a_manifest_is_written_with_the_folders_files_and_read_back_as_written(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"abc")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.npy").write_bytes(b"x" * 10)
    written = _manifest().write(tmp_path)
    assert written.files == {
        "a.bin": FileRecord(3, checksum(tmp_path / "a.bin")),
        "sub/b.npy": FileRecord(10, checksum(tmp_path / "sub" / "b.npy")),
    }
    assert Manifest.read(tmp_path) == written
    assert written.size_bytes == 13


def test_keys_of_older_versions_are_read_past_and_missing_ones_are_damage(tmp_path: Path) -> None:
    _manifest().write(tmp_path)
    data = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / MANIFEST).write_text(json.dumps({**data, "engine": "rank-bm25"}))
    assert Manifest.read(tmp_path).passages == 3
    del data["avgdl"]
    (tmp_path / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(SnapshotError, match="lacks avgdl"):
        Manifest.read(tmp_path)
    assert Manifest.read_if_any(tmp_path) is None


def test_a_stage_entry_that_is_not_a_record_by_role_is_damage(tmp_path: Path) -> None:
    _manifest().write(tmp_path)
    data = json.loads((tmp_path / MANIFEST).read_text())
    (tmp_path / MANIFEST).write_text(json.dumps({**data, "semantic": {"e5": "multilingual-e5-small"}}))
    with pytest.raises(SnapshotError, match="is damaged"):
        Manifest.read(tmp_path)


def test_verify_names_the_files_changed_since_they_were_written_whatever_their_size(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"abc")
    (tmp_path / "b.bin").write_bytes(b"def")
    manifest = _manifest().write(tmp_path)
    (tmp_path / "b.bin").write_bytes(b"deF")
    assert manifest.verify(tmp_path) == ["b.bin"]
    assert manifest.verify(tmp_path, ["a.bin", "unlisted.bin"]) == ["unlisted.bin"]
    assert not manifest.intact(tmp_path, ["b.bin"]) and manifest.intact(tmp_path, ["a.bin"])
