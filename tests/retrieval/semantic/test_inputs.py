"""The keys of what is embedded: each names exactly the text embedded, and a sentence's key is
taken from an earlier snapshot only where its passage is there unchanged (no models needed)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from retrieval.index.build import build_snapshot
from retrieval.index.format import FILES, Manifest
from retrieval.index.publish import load_snapshot
from retrieval.semantic import inputs
from retrieval.semantic.encoders import passage_input
from retrieval.semantic.inputs import SnapshotTexts, input_keys, passage_keys, sentence_keys
from retrieval.storage.records import ArticleRecord
from tests.retrieval.corpus_factory import fill_store, make_records

# Titles a passage input must keep apart from its text: none, non-ASCII, and one with a line break
# (the title "Split" with the text "line. ..." is embedded as the title "Split\nline." would be).
ODD_RECORDS = [
    ArticleRecord("Kyiv", "Київ", "Київ — столиця України. Місто стоїть на Дніпрі.", None),
    ArticleRecord("Untitled", None, "An article without a title. It has two sentences.", None),
    ArticleRecord("Emoji", "Smile 😀", "A text with 😀 in it. And a second sentence.", None),
    ArticleRecord("Split", "Split\nline", "A title with a line break. Then the text.", None),
]
# Earlier sentence keys are replaced with these plus the sentence's number: a key taken from the
# earlier snapshot is then told from one hashed again, and from which sentence it was taken.
SENTINEL = np.uint64(1 << 62)


def _snapshot(folder: Path, records: list[ArticleRecord]) -> Path:
    """A lexical snapshot of ``records``, built in ``folder``: its own folder."""
    store = fill_store(f"sqlite:///{folder / 's.db'}", records)
    info = build_snapshot(store, folder / "snapshots", source_url="")
    store.close()
    return info.path


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _snapshot(tmp_path_factory.mktemp("inputs"), make_records(5) + ODD_RECORDS)


def _texts_read_back(folder: Path) -> tuple[list[str], list[str]]:
    """(every passage input, every sentence) as the reader gives them to a search."""
    snapshot = load_snapshot(folder.parent)
    pids = range(len(snapshot))
    passages = [passage_input(snapshot.passages.title(p), snapshot.passages.text(p)) for p in pids]
    sentences = [snapshot.passages.text(p)[s:e] for p in pids for s, e in snapshot.passages.sentence_spans(p)]
    return passages, sentences


def _with_earlier_keys(folder: Path, into: Path, change: Callable[[Path], None]) -> Path:
    """A copy of ``folder`` with its passage keys and sentinel sentence keys written, then
    ``change``d, and its manifest written again: an earlier snapshot of the same passages."""
    shutil.copytree(folder, into)
    texts = SnapshotTexts(into)
    passage_keys(texts).tofile(into / FILES["embed_keys"])
    (SENTINEL + np.arange(texts.sentences, dtype=np.uint64)).tofile(into / FILES["sentence_embed_keys"])
    change(into)
    Manifest.read(into).write(into)
    return into


def _hashed_sentences(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sentences hashed from now on, as they are hashed."""
    hashed: list[str] = []

    def recording(texts: list[str]) -> np.ndarray:
        hashed.extend(texts)
        return input_keys(texts)

    monkeypatch.setattr(inputs, "input_keys", recording)
    return hashed


def test_the_keys_name_exactly_the_texts_embedded(folder: Path) -> None:
    passages, sentences = _texts_read_back(folder)
    texts = SnapshotTexts(folder)
    assert texts.passage_inputs(np.arange(len(texts))) == passages
    assert texts.sentence_texts(np.arange(texts.sentences)) == sentences
    keys = passage_keys(texts)  # hashed from the stored bytes, never decoded
    assert np.array_equal(keys, input_keys(passages))
    assert np.array_equal(sentence_keys(texts, keys, earlier=()), input_keys(sentences))


def test_the_sentence_keys_of_unchanged_passages_are_taken_not_hashed(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = _with_earlier_keys(folder, tmp_path / "earlier", _nothing)
    hashed = _hashed_sentences(monkeypatch)
    texts = SnapshotTexts(folder)
    keys = sentence_keys(texts, passage_keys(texts), earlier=(tmp_path / "missing", earlier))
    assert np.array_equal(keys, SENTINEL + np.arange(texts.sentences, dtype=np.uint64))
    assert hashed == []


def _move_a_span(earlier: Path, pid: int) -> None:
    spans = np.fromfile(earlier / FILES["sentences"], np.int32).reshape(-1, 2)
    spans[np.fromfile(earlier / FILES["sentence_offsets"], np.int64)[pid], 1] -= 1
    spans.tofile(earlier / FILES["sentences"])


def _change_a_key(earlier: Path, pid: int) -> None:
    keys = np.fromfile(earlier / FILES["embed_keys"], np.uint64)
    keys[pid] += np.uint64(1)
    keys.tofile(earlier / FILES["embed_keys"])


def _move_a_text_boundary(earlier: Path, pid: int) -> None:
    """Passages ``pid`` and the next one differ in length: as a title ending in what the text
    began with, whose input (and key) is the same but not its text."""
    offsets = np.fromfile(earlier / FILES["text_offsets"], np.int64)
    offsets[pid + 1] += 1
    offsets.tofile(earlier / FILES["text_offsets"])


@pytest.mark.parametrize(
    ("change", "changed"),
    [(_move_a_span, {3}), (_change_a_key, {3}), (_move_a_text_boundary, {3, 4})],
    ids=["sentences cut otherwise", "another input", "another text length"],
)
def test_a_passage_changed_since_the_earlier_snapshot_has_exactly_its_sentences_hashed(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change, changed: set[int]
) -> None:
    earlier = _with_earlier_keys(folder, tmp_path / "earlier", lambda into: change(into, 3))
    hashed = _hashed_sentences(monkeypatch)
    texts = SnapshotTexts(folder)
    keys = sentence_keys(texts, passage_keys(texts), earlier=(earlier,))
    _, sentences = _texts_read_back(folder)
    offsets = texts.sentence_offsets
    rehashed = [s for p in sorted(changed) for s in range(offsets[p], offsets[p + 1])]
    assert hashed == [sentences[s] for s in rehashed]
    expected = SENTINEL + np.arange(texts.sentences, dtype=np.uint64)
    expected[rehashed] = input_keys(hashed)
    assert np.array_equal(keys, expected)


def _cut_short(folder: Path) -> None:
    keys_file = folder / FILES["sentence_embed_keys"]
    keys_file.write_bytes(keys_file.read_bytes()[:-8])


def _flip_a_byte(folder: Path) -> None:
    with open(folder / FILES["sentence_embed_keys"], "r+b") as file:
        byte = file.read(1)[0]
        file.seek(0)
        file.write(bytes([byte ^ 1]))


def _nothing(folder: Path) -> None:
    pass


@pytest.mark.parametrize(
    ("before_its_manifest", "after_its_manifest"),
    [(_cut_short, _nothing), (_nothing, _flip_a_byte)],
    ids=["files disagree", "damaged since written"],
)
def test_an_earlier_snapshot_whose_files_disagree_or_are_damaged_gives_nothing(
    folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    before_its_manifest: Callable[[Path], None],
    after_its_manifest: Callable[[Path], None],
) -> None:
    earlier = _with_earlier_keys(folder, tmp_path / "earlier", before_its_manifest)
    after_its_manifest(earlier)
    hashed = _hashed_sentences(monkeypatch)
    texts = SnapshotTexts(folder)
    keys = sentence_keys(texts, passage_keys(texts), earlier=(earlier,))
    assert len(hashed) == texts.sentences
    assert np.array_equal(keys, input_keys(_texts_read_back(folder)[1]))


def test_after_a_store_change_the_keys_are_those_hashing_everything_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Passages moved (an article inserted before them) are found by key; the new and changed
    ones, and only they, are hashed."""
    records = make_records(6)
    before = _snapshot(tmp_path / "before", records)
    old = SnapshotTexts(before)
    old_keys = passage_keys(old)
    old_keys.tofile(before / FILES["embed_keys"])
    sentence_keys(old, old_keys, earlier=()).tofile(before / FILES["sentence_embed_keys"])
    Manifest.read(before).write(before)
    changed = ArticleRecord(records[2].article_id, records[2].title, "A changed body. Short.", None)
    after = _snapshot(tmp_path / "after", [*ODD_RECORDS, *records[:2], changed, *records[3:]])
    texts = SnapshotTexts(after)
    keys = passage_keys(texts)
    hashed = _hashed_sentences(monkeypatch)
    reused = sentence_keys(texts, keys, earlier=(before,))
    _, sentences = _texts_read_back(after)
    assert np.array_equal(reused, input_keys(sentences))
    new_texts = {"A changed body. Short.", *(r.article for r in ODD_RECORDS)}
    assert "".join(hashed) == "".join(s for s in sentences if any(s in text for text in new_texts))
