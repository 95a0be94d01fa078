"""Analyzed batches into a snapshot folder under construction, then the folder completed.

Every array is appended to its file as its batch arrives; only the vocabulary, the surface words
and a few numbers per passage stay in memory. The BM25 matrix is assembled at the end from the
per-passage term counts written along the way (:func:`retrieval.index.bm25.assemble_csc`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.index.analyze import AnalyzedBatch
from retrieval.index.arrays import ArrayWriter, StringTableWriter, fsync_dir
from retrieval.index.bm25 import BM25Params, assemble_csc, save_bm25s
from retrieval.index.format import FILES, Manifest
from retrieval.index.spelling import write_spelling_index


@dataclass(frozen=True, slots=True)
class BuildCounts:
    articles: int
    passages: int
    vocabulary: int


class SnapshotWriter:
    """Appends analyzed batches to a snapshot folder under construction, then completes it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        path = folder.joinpath
        self._texts = StringTableWriter(path(FILES["texts"]), path(FILES["text_offsets"]))
        self._article_ids = StringTableWriter(path(FILES["article_ids"]), path(FILES["article_id_offsets"]))
        self._titles = StringTableWriter(path(FILES["titles"]), path(FILES["title_offsets"]))
        self._meta = ArrayWriter(path(FILES["meta"]), np.int32)
        self._sentences = ArrayWriter(path(FILES["sentences"]), np.int32)
        self._sentence_tokens = ArrayWriter(path(FILES["sentence_tokens"]), np.int32)
        self._sentence_offsets = ArrayWriter(path(FILES["sentence_offsets"]), np.int64)
        self._tokens = ArrayWriter(path(FILES["tokens"]), np.int32)
        self._token_offsets = ArrayWriter(path(FILES["token_offsets"]), np.int64)
        self._bag_terms = ArrayWriter(path(FILES["bag_terms"]), np.int32)
        self._bag_tfs = ArrayWriter(path(FILES["bag_tfs"]), np.uint16)
        for offsets in (self._sentence_offsets, self._token_offsets):
            offsets.append(np.zeros(1, np.int64))
        self._bag_nnz: list[np.ndarray] = []
        self._bag_len: list[np.ndarray] = []
        self.vocab: dict[str, int] = {}
        self._words: dict[str, int] = {}
        self._word_counts = np.zeros(1024, np.int64)
        # Per analyzing process: its term ids and surface-word ids -> global ones.
        self._term_maps: dict[int, np.ndarray] = {}
        self._word_maps: dict[int, np.ndarray] = {}
        self.articles = 0
        self.passages = 0

    def add(self, batch: AnalyzedBatch) -> None:
        to_global = _extend(self._term_maps, batch.process, batch.terms_from, batch.new_terms, self.vocab)
        word_map = _extend(self._word_maps, batch.process, batch.words_from, batch.new_words, self._words)
        meta = batch.passage_meta.copy()
        meta[:, 0] += self.articles
        self._meta.append(meta)
        self._texts.append_encoded(batch.text_blob, batch.text_lengths)
        self._article_ids.extend(batch.article_ids)
        self._titles.extend(batch.titles)
        first_sentence = self._sentences.count // 2
        self._sentences.append(batch.sentences)
        self._sentence_tokens.append(batch.sentence_token_starts)
        self._sentence_offsets.append(first_sentence + np.cumsum(batch.sentence_counts, dtype=np.int64))
        first_token = self._tokens.count
        self._tokens.append(to_global[batch.tokens])
        self._token_offsets.append(first_token + np.cumsum(batch.token_counts, dtype=np.int64))
        self._bag_terms.append(to_global[batch.bag_terms])
        self._bag_tfs.append(batch.bag_tfs)
        self._bag_nnz.append(batch.bag_nnz)
        self._bag_len.append(batch.bag_len)
        if len(self._words) > len(self._word_counts):
            grown = np.zeros(max(len(self._words), 2 * len(self._word_counts)), np.int64)
            grown[: len(self._word_counts)] = self._word_counts
            self._word_counts = grown
        self._word_counts[word_map[batch.word_ids]] += batch.word_counts
        self.articles += len(batch.article_ids)
        self.passages += batch.passages

    def finish(
        self, params: BM25Params, settings: dict[str, Any], linked_from: tuple[Path, ...] = ()
    ) -> BuildCounts:
        """Write the BM25 matrix, vocabulary, spelling index and manifest; make everything durable.
        ``settings``: the manifest's fields the build decided (version, source, analyzer, the
        stages' entries), to which the counts are added. ``linked_from``: earlier snapshots whose
        files may be hard-linked into this one (their recorded checksums are taken rather than
        computed again)."""
        self.close_columns()
        doc_len = self._write_bm25(params)
        self._write_terms()
        words = self._words
        write_spelling_index(zip(words, self._word_counts[: len(words)].tolist(), strict=True), self.folder)
        counts = BuildCounts(self.articles, self.passages, len(self.vocab))
        Manifest(
            **settings,
            articles=counts.articles,
            passages=counts.passages,
            vocabulary=counts.vocabulary,
            avgdl=float(np.mean(doc_len, dtype=np.float64)) if len(doc_len) else 0.0,
            sentences=self._sentences.count // 2,
            tokens=self._tokens.count,
        ).write(self.folder, linked_from)
        _fsync_tree(self.folder)
        return counts

    def close_columns(self) -> None:
        """Complete the passage tables, so that they can be read before the build is finished."""
        for writer in self._columns():
            writer.close()

    def _columns(self) -> tuple[ArrayWriter | StringTableWriter, ...]:
        return (
            self._texts, self._article_ids, self._titles, self._meta, self._sentences,
            self._sentence_tokens, self._sentence_offsets, self._tokens, self._token_offsets,
            self._bag_terms, self._bag_tfs,
        )  # fmt: skip

    def _write_bm25(self, params: BM25Params) -> np.ndarray:
        """The score matrix in bm25s's format, idf and bag lengths; the bags, its input, go.
        Returns the bag lengths."""
        folder = self.folder
        doc_nnz = np.concatenate(self._bag_nnz) if self._bag_nnz else np.zeros(0, np.int32)
        doc_len = np.concatenate(self._bag_len) if self._bag_len else np.zeros(0, np.int32)
        csc = assemble_csc(
            _reader(folder / FILES["bag_terms"], np.int32),
            _reader(folder / FILES["bag_tfs"], np.uint16),
            doc_nnz,
            doc_len,
            len(self.vocab),
            params,
        )
        save_bm25s(folder / FILES["bm25s"], csc, self.vocab, params)
        np.save(folder / FILES["doc_len"], doc_len)
        np.save(folder / FILES["idf"], csc.idf)
        os.unlink(folder / FILES["bag_terms"])
        os.unlink(folder / FILES["bag_tfs"])
        return doc_len

    def _write_terms(self) -> None:
        """The vocabulary in id order, and the ids in term order for binary search."""
        folder = self.folder
        terms = StringTableWriter(folder / FILES["terms"], folder / FILES["term_offsets"])
        terms.extend(list(self.vocab))
        terms.close()
        encoded = [t.encode("utf-8", "surrogatepass") for t in self.vocab]
        np.save(
            folder / FILES["terms_sorted"],
            np.asarray(sorted(range(len(encoded)), key=encoded.__getitem__), np.int32),
        )


def _extend(
    maps: dict[int, np.ndarray], process: int, first: int, new: list[str], ids: dict[str, int]
) -> np.ndarray:
    """The process's id map, extended with the global ids of its new strings."""
    known = maps.get(process, np.zeros(0, np.int32))
    if len(known) != first:
        raise RuntimeError(f"analysis batches of process {process} arrived out of order")
    if new:
        added = np.fromiter((ids.setdefault(s, len(ids)) for s in new), np.int32, len(new))
        known = maps[process] = np.concatenate((known, added))
    return known


def _reader(path: Path, dtype: type) -> Callable[[int, int], np.ndarray]:
    itemsize = np.dtype(dtype).itemsize

    def read(start: int, count: int) -> np.ndarray:
        return np.fromfile(path, dtype=dtype, count=count, offset=start * itemsize)

    return read


def _fsync_tree(folder: Path) -> None:
    """Flush every file of the folder (and the folder entries) before it is swapped in."""
    for child in folder.rglob("*"):
        if child.is_file():
            fd = os.open(child, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    for directory in [*(p for p in folder.rglob("*") if p.is_dir()), folder]:
        fsync_dir(directory)
