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


def _graph(target: Path) -> None:
    """A one-node ONNX graph of 3 kB (its description fills it out), so a test builds a real
    session in milliseconds."""
    from onnx import TensorProto, helper

    value = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "identity", [value], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], doc_string="." * 3000)
    target.write_bytes(model.SerializeToString())


def _cut_to_1000_bytes(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:1000])


def _cut_to_nothing(path: Path) -> None:
    path.write_bytes(b"")


def _flip_one_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_cut_to_1000_bytes, _cut_to_nothing, _flip_one_bit])
def test_a_damaged_cached_file_is_rebuilt_with_one_warning(
    cache: Path, damage, caplog: pytest.LogCaptureFixture
) -> None:
    contents = "graph " * 500  # 3,000 bytes
    first = derived_file("model.onnx", lambda target: target.write_text(contents))
    damage(first)
    with caplog.at_level("WARNING", logger="retrieval.semantic.cache"):
        again = derived_file("model.onnx", lambda target: target.write_text(contents))
    assert again == first and again.read_text() == contents
    warning = f"the cached model file {first} is damaged; rebuilding it"
    assert [r.getMessage() for r in caplog.records] == [warning]
    assert all(r.exc_info is None for r in caplog.records)


def test_a_cached_file_that_lost_its_record_is_rebuilt_quietly(
    cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = derived_file("model.onnx", lambda target: target.write_text("graph"))
    (cache / "model.onnx.sha256").unlink()
    first.write_text("gra")
    assert derived_file("model.onnx", lambda target: target.write_text("graph")).read_text() == "graph"
    assert caplog.records == []


@pytest.mark.parametrize("damage", [_cut_to_1000_bytes, _cut_to_nothing, _flip_one_bit])
def test_a_session_of_a_damaged_cached_graph_still_answers(cache: Path, damage) -> None:
    import numpy as np

    from retrieval.semantic.onnx_graph import session

    session("identity.onnx", _graph)
    damage(cache / "identity.onnx")
    answer = session("identity.onnx", _graph).run(["y"], {"x": np.ones(1, dtype=np.float32)})[0]
    assert answer.tolist() == [1.0]
