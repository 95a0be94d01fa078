"""Embedding a snapshot under construction, reusing every vector that was computed before.

A vector is keyed by a hash of exactly what was embedded (title and passage text, or a sentence;
:mod:`retrieval.semantic.inputs`): a reindex takes the vectors of unchanged passages from the
live snapshot and embeds only new or changed ones. While it embeds, finished batches are also
saved as segment files in a work folder beside the snapshots (written aside, then renamed), so a
reindex killed after hours of embedding resumes where it stopped; the segments go once a snapshot
holding their vectors is live.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from retrieval.index.format import FILES, Manifest, ann_file, sentence_vectors_file, vectors_file
from retrieval.semantic.ann import ANN_FROM_PASSAGES, build_ivf
from retrieval.semantic.encoders import ROLE, bulk_encoder, describe
from retrieval.semantic.inputs import SnapshotTexts, passage_keys, sentence_keys
from retrieval.semantic.vectors import (
    Codec,
    Int8Codec,
    VectorTable,
    codec_from,
    new_table,
    open_table,
    sentence_codec,
    table_files,
    table_forms,
)

# Beside the snapshots; hidden, so that it is never taken for one.
WORK_FOLDER = ".embeddings-partial"
# Texts per segment saved to the work folder: a segment is a few seconds to minutes of
# embedding, so a kill loses at most that much.
SEGMENT = 1024
# Characters per encode call, a few seconds of work (progress is told after each): the encoder
# batches each call's windows by length, so more texts a call pad less. (Measured with the
# all-MiniLM-L6-v2 model this replaced, which batched the same way: sentences 68 a second in
# calls of 64, 139 in calls of 1,024; passages 26 and 30.)
CALL_CHARS = 100_000

log = logging.getLogger(__name__)

# (what is embedded: "e5" passages or "e5-sentences"; how many just now; how many in all)
EmbedProgress = Callable[[str, int, int], None]
Warn = Callable[[str], None]
# The texts of the given rows of a table (passage inputs or sentences), made when embedded.
TextsOf = Callable[[np.ndarray], list[str]]


class PassageEncoder(Protocol):
    """What the stage embeds with (``bulk_encoder()``'s ``E5`` by default)."""

    def passages(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 rows of the model's width, one per text."""
        ...


@dataclass(frozen=True, slots=True)
class _Table:
    """Where one kind of vector lives in a snapshot: passages, or sentences."""

    label: str  # names the segments folder and the progress
    models: Callable[[Manifest], dict[str, dict[str, Any]]]  # its manifest entry: role -> model
    keys_file: str
    vectors_file: str
    codec: Callable[[], Codec]  # how new rows are coded


_PASSAGES = _Table(ROLE, attrgetter("semantic"), FILES["embed_keys"], vectors_file(ROLE), Int8Codec)
_SENTENCES = _Table(
    f"{ROLE}-sentences",
    attrgetter("sentence_vectors"),
    FILES["sentence_embed_keys"],
    sentence_vectors_file(ROLE),
    sentence_codec,
)


class EmbeddingStage:
    """What a reindex hands the snapshot build (:func:`retrieval.index.build.build_snapshot`) so
    that the new snapshot holds a vector for every passage and every sentence.

    ``on_progress`` hears of each call's texts as they are embedded; ``warn`` of earlier vectors
    that fail their checksum and are embedded again instead of being carried on. ``encoder``, where
    given, embeds in place of the model, whose name the manifest records all the same (a benchmark's
    stand-in vectors are then searched with the model's question vectors); by default the model is
    loaded once some text needs embedding.
    """

    def __init__(
        self,
        *,
        on_progress: EmbedProgress | None = None,
        warn: Warn = log.warning,
        encoder: PassageEncoder | None = None,
    ) -> None:
        self.on_progress = on_progress
        self.warn = warn
        self.encoder = encoder

    def run(self, folder: Path, snapshots_dir: Path, earlier: tuple[Path, ...]) -> dict[str, Any]:
        """Embed the snapshot being built in ``folder``, reusing the vectors of the ``earlier``
        snapshots (newest first); the entries its manifest records of them.

        Questions are matched against single sentences as well as whole passages: the model was
        trained on short texts, and a passage's one answering sentence is diluted in the
        passage's vector.
        """
        plan = _Plan(_whole(earlier, self.warn), snapshots_dir / WORK_FOLDER, self.on_progress, self.encoder)
        texts = SnapshotTexts(folder)
        keys = passage_keys(texts)
        known = sentence_keys(texts, keys, plan.reuse_from)
        keys.tofile(folder / FILES["embed_keys"])
        known.tofile(folder / FILES["sentence_embed_keys"])
        model = describe()
        rows, same = _embed_table(folder, _PASSAGES, model, keys, texts.passage_inputs, plan)
        _embed_table(folder, _SENTENCES, model, known, texts.sentence_texts, plan)
        entries: dict[str, Any] = {"semantic": {ROLE: model}, "sentence_vectors": {ROLE: model}}
        if len(keys) >= ANN_FROM_PASSAGES:
            entries["ann"] = {ROLE: _index(folder, rows, same)}
        return entries

    def published(self, snapshots_dir: Path) -> None:
        """Drop the segments of an interrupted reindex, now that a live snapshot holds them."""
        shutil.rmtree(snapshots_dir / WORK_FOLDER, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class _Plan:
    """One run of the stage: where earlier vectors may be found, where its segments go, whom to tell."""

    reuse_from: tuple[Path, ...]  # whole snapshot folders whose vectors may be reused
    work_dir: Path
    on_progress: EmbedProgress | None
    encoder: PassageEncoder | None  # None: the model's bulk encoder, loaded when first needed


# What an earlier snapshot's vectors and keys must match in full before they are reused: a
# damaged row copied into the new snapshot would get a fresh checksum there and be served for good.
_REUSED = tuple(
    name
    for table in (_PASSAGES, _SENTENCES)
    for name in (table.keys_file, *(name for form in table_forms(table.vectors_file) for name in form))
)


def _whole(earlier: tuple[Path, ...], warn: Warn) -> tuple[Path, ...]:
    """The ``earlier`` snapshots whose keys and vectors hold what their manifest recorded, read in
    full (a few seconds at a million passages, against hours of embedding); of the others, the
    user is told, and their passages are embedded again."""
    whole = []
    for folder in earlier:
        manifest = Manifest.read_if_any(folder)
        if manifest is None:
            continue
        bad = manifest.verify(folder, [name for name in _REUSED if name in manifest.files])
        if bad:
            warn(
                f"the vectors of snapshot {folder.name} are damaged ({', '.join(bad)}); "
                "their passages are embedded again"
            )
            continue
        whole.append(folder)
    return tuple(whole)


def _embed_table(
    folder: Path,
    table: _Table,
    model: dict[str, Any],
    keys: np.ndarray,
    texts_of: TextsOf,
    plan: _Plan,
) -> tuple[VectorTable, Path | None]:
    """One table's vectors written into ``folder``, and the earlier snapshot that held exactly
    these passages' vectors if there was one (a reindex of an unchanged store: its files linked,
    not copied, where they are stored as this version codes them); else known vectors are copied
    (re-coded where an older version stored them otherwise) and the others embedded."""
    rows, width = len(keys), int(model["dimensions"])
    codec = table.codec()
    earlier = _earlier_tables(table, model, plan.reuse_from)
    same = next(
        (
            source
            for source, source_keys, vectors in earlier
            if np.array_equal(source_keys, keys) and vectors.codec.same(codec)
        ),
        None,
    )
    if same is not None:
        for name in table_files(same, table.vectors_file):
            _link_or_copy(same / name, folder / name)
    else:
        with new_table(folder, table.vectors_file, rows, width, codec) as (codes, scales):
            known = _Known(table, model, [(k, v) for _, k, v in earlier], plan.work_dir, codec)
            missing = known.fill(keys, codes, scales)
            _embed_missing(table, texts_of, keys[missing], missing, (codes, scales), known, plan)
    return open_table(folder, table.vectors_file, rows, width), same


def _index(folder: Path, rows: VectorTable, same: Path | None) -> dict[str, Any]:
    """The nearest-neighbour index of ``rows``: that of ``same``, the earlier snapshot holding
    these passages' vectors, where it has one; else built anew."""
    if same is not None:
        manifest = Manifest.read_if_any(same)
        entry = manifest.ann.get(ROLE) if manifest is not None else None
        if manifest is not None and entry is not None and not manifest.verify(same, (ann_file(ROLE),)):
            _link_or_copy(same / ann_file(ROLE), folder / ann_file(ROLE))
            return entry
    return build_ivf(rows, folder / ann_file(ROLE))


def _earlier_tables(
    table: _Table, model: dict[str, Any], earlier: tuple[Path, ...]
) -> list[tuple[Path, np.ndarray, VectorTable]]:
    """(folder, keys, vectors) of this table in each earlier snapshot embedded by the same model,
    whose files pass the check a load makes."""
    found = []
    for folder in earlier:
        try:
            manifest = Manifest.read_if_any(folder)
            if manifest is None or table.models(manifest).get(ROLE) != model:
                continue
            if not manifest.intact(folder, (table.keys_file, *table_files(folder, table.vectors_file))):
                continue
            keys = np.fromfile(folder / table.keys_file, dtype=np.uint64)
            vectors = open_table(folder, table.vectors_file, len(keys), int(model["dimensions"]))
        except (OSError, ValueError):
            continue
        found.append((folder, keys, vectors))
    return found


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link where the file system allows (snapshot files are never written in place)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _embed_missing(
    table: _Table,
    texts_of: TextsOf,
    keys: np.ndarray,
    where: np.ndarray,
    rows: tuple[np.ndarray, np.ndarray],
    known: _Known,
    plan: _Plan,
) -> None:
    """Embed rows ``where`` (keys ``keys``) into ``rows`` (codes, scales, by ``known``'s codec), a
    segment at a time: its texts are made just before (never all of them at once: millions of
    sentences), its vectors saved after."""
    if not len(where):
        return
    codes, scales = rows
    encoder = plan.encoder if plan.encoder is not None else bulk_encoder()
    for start in range(0, len(where), SEGMENT):
        stop = min(start + SEGMENT, len(where))
        texts = texts_of(where[start:stop])
        embedded = []
        for first, last in call_slices(texts):
            embedded.append(encoder.passages(texts[first:last]))
            if plan.on_progress is not None:
                plan.on_progress(table.label, last - first, len(where))
        segment = known.codec.encode(np.concatenate(embedded))
        codes[where[start:stop]], scales[where[start:stop]] = segment
        known.save_segment(keys[start:stop], *segment)


def call_slices(texts: list[str]) -> Iterator[tuple[int, int]]:
    """Consecutive (first, last) slices of ``texts`` of about ``CALL_CHARS`` characters each."""
    first, size = 0, 0
    for index, text in enumerate(texts):
        size += len(text)
        if size >= CALL_CHARS:
            yield first, index + 1
            first, size = index + 1, 0
    if first < len(texts):
        yield first, len(texts)


class _Known:
    """The vectors of one table computed before by the same model: in earlier snapshots and in
    segments saved by an interrupted reindex, looked up by key; ``codec`` codes the table's new
    rows (and re-codes known ones stored otherwise)."""

    def __init__(
        self,
        table: _Table,
        model: dict[str, Any],
        sources: list[tuple[np.ndarray, VectorTable]],
        work_dir: Path,
        codec: Codec,
    ) -> None:
        """``sources``: (keys, vectors) of the earlier snapshots; the segments are read here."""
        self.codec = codec
        named = f"{table.label}-{model['model']}-{model['version']}-{model['quantization']}"
        self.segments = work_dir / named
        sources = list(sources)
        if self.segments.is_dir():
            for path in sorted(self.segments.glob("*.npz")):
                try:
                    with np.load(path) as segment:
                        stored = codec_from(segment.get("center"))
                        sources.append(
                            (segment["keys"], VectorTable(stored, segment["codes"], segment["scales"]))
                        )
                except (OSError, ValueError, KeyError, EOFError):
                    # Cut short by a crash, or of an older version: its passages are embedded again.
                    continue
        self._sources = sources
        self._sorted = [np.argsort(keys, kind="stable") for keys, _ in sources]

    def fill(self, keys: np.ndarray, codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Copy every known vector into ``codes`` and ``scales`` (re-coded where it was stored
        otherwise); the indexes of the passages still missing."""
        missing = np.ones(len(keys), dtype=bool)
        for (source_keys, vectors), order in zip(self._sources, self._sorted, strict=True):
            if not missing.any() or len(source_keys) == 0:
                break
            wanted = np.flatnonzero(missing)
            sorted_keys = source_keys[order]
            at = np.minimum(np.searchsorted(sorted_keys, keys[wanted]), len(sorted_keys) - 1)
            hit = sorted_keys[at] == keys[wanted]
            for start in range(0, int(hit.sum()), 65_536):
                take = wanted[hit][start : start + 65_536]
                rows = order[at[hit][start : start + 65_536]]
                codes[take], scales[take] = vectors.encoded(rows, self.codec)
            missing[wanted[hit]] = False
        return np.flatnonzero(missing)

    def save_segment(self, keys: np.ndarray, codes: np.ndarray, scales: np.ndarray) -> None:
        """Save a batch of new vectors durably (with the center of 6-bit codes): written under a
        temporary name, then renamed."""
        self.segments.mkdir(parents=True, exist_ok=True)
        final = self.segments / f"{uuid.uuid4().hex}.npz"
        partial = final.with_suffix(".tmp")
        stored = self.codec.stored()
        center = {} if stored is None else {"center": stored}
        with open(partial, "wb") as file:
            np.savez(file, keys=keys, codes=codes, scales=scales, **center)
            file.flush()
            os.fsync(file.fileno())
        os.rename(partial, final)
