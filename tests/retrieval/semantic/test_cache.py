"""Files derived from a model's wheel: written once, whole or not at all, and never required."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.semantic.cache import derived_file


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "wikiqa"


def test_a_derived_file_is_written_once_and_then_reused(cache: Path) -> None:
    calls: list[Path] = []

    def write(target: Path) -> None:
        calls.append(target)
        target.write_text("graph")

    first = derived_file("model.onnx", write)
    second = derived_file("model.onnx", write)
    assert first == second == cache / "model.onnx"
    assert first.read_text() == "graph" and len(calls) == 1
    assert calls[0] != first  # written aside, then renamed into place


def test_a_write_that_fails_half_way_leaves_nothing_behind(cache: Path) -> None:
    def write(target: Path) -> None:
        target.write_text("half a gr")
        raise OSError("No space left on device")

    assert derived_file("model.onnx", write) is None
    assert list(cache.iterdir()) == []


@pytest.mark.usefixtures("unwritable_cache")
def test_an_unwritable_cache_gives_none_instead_of_an_error() -> None:
    assert derived_file("model.onnx", lambda target: target.write_text("graph")) is None
