"""What a snapshot under construction embeds, and the keys that name it.

A vector is keyed by a 64-bit BLAKE2b hash of the UTF-8 bytes of exactly the text embedded: a
passage's title and text (:func:`passage_input`), or one of its sentences. Every reindex computes
every key before it can tell which vectors it already has, changed store or not, and at a million
passages there are some nine million of them (most of them sentences). So:

- a passage's key is hashed from the bytes the snapshot stores, read a chunk at a time, without
  decoding it into a string;
- a sentence's key is taken from an earlier snapshot wherever its passage is there unchanged
  (same key, same text length, same sentence spans: the same sentences); only the sentences of
  new or changed passages are cut out and hashed;
- the texts themselves are made only for what is embedded, a segment at a time, never a list of
  every passage or sentence.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from retrieval.index.arrays import OFFSET_DTYPE, StringTable, map_array
from retrieval.index.format import FILES, Manifest
from retrieval.semantic.encoders import passage_input

KEY_DTYPE = np.dtype("<u8")
KEY_BYTES = 8
# Passages read and hashed at a time (~12 MB of text), and checked for reusable sentence keys at
# a time: bounds the memory of both whatever the corpus size.
_HASH_PASSAGES = 16_384
_REUSE_PASSAGES = 262_144


def input_keys(inputs: Iterable[str]) -> np.ndarray:
    """A 64-bit hash of each input: collisions are negligible below billions of passages."""
    digests = b"".join(
        hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=KEY_BYTES).digest()
        for text in inputs
    )
    return np.frombuffer(digests, dtype=KEY_DTYPE).astype(np.uint64)


class SnapshotTexts:
    """The passages and sentences of a snapshot folder, read from its files when needed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.text_offsets = map_array(folder / FILES["text_offsets"], OFFSET_DTYPE)
        self.articles = map_array(folder / FILES["meta"], np.int32).reshape(-1, 4)[:, 0]
        self.sentence_offsets = map_array(folder / FILES["sentence_offsets"], OFFSET_DTYPE)
        self.spans = map_array(folder / FILES["sentences"], np.int32).reshape(-1, 2)
        self._texts = StringTable(folder / FILES["texts"], folder / FILES["text_offsets"])
        self._titles = StringTable(folder / FILES["titles"], folder / FILES["title_offsets"])

    def __len__(self) -> int:
        return len(self.text_offsets) - 1

    @property
    def sentences(self) -> int:
        return int(self.sentence_offsets[-1])

    def passage_inputs(self, pids: np.ndarray) -> list[str]:
        """What is embedded for each of these passages."""
        return [passage_input(self._titles[int(self.articles[p])], self._texts[p]) for p in pids.tolist()]

    def sentence_texts(self, sids: np.ndarray) -> list[str]:
        """The text of each of these sentences (each passage decoded once however many it has)."""
        owners = np.searchsorted(self.sentence_offsets, sids, side="right") - 1
        decoded: dict[int, str] = {}
        out = []
        for pid, (start, end) in zip(owners.tolist(), self.spans[sids].tolist(), strict=True):
            if pid not in decoded:
                decoded[pid] = self._texts[pid]
            out.append(decoded[pid][start:end])
        return out

    def title_prefixes(self) -> list[bytes]:
        """Each article's part of its passages' inputs, encoded: its title and a line break, or
        nothing for an untitled article (as :func:`passage_input` makes them)."""
        blob = (self.folder / FILES["titles"]).read_bytes()
        offsets = map_array(self.folder / FILES["title_offsets"], OFFSET_DTYPE).tolist()
        return [blob[a:b] + b"\n" if b > a else b"" for a, b in pairwise(offsets)]


def passage_keys(texts: SnapshotTexts) -> np.ndarray:
    """The key of every passage's input, hashed from the stored UTF-8 bytes: those of
    ``passage_input(title, text)`` are the title's, a line break and the text's, so the keys are
    those :func:`input_keys` gives the input strings, without making a million strings."""
    prefixes = texts.title_prefixes()
    articles = texts.articles.tolist()
    offsets = texts.text_offsets
    digests: list[bytes] = []
    with open(texts.folder / FILES["texts"], "rb", buffering=0) as file:
        for first in range(0, len(texts), _HASH_PASSAGES):
            last = min(first + _HASH_PASSAGES, len(texts))
            base = int(offsets[first])
            chunk = memoryview(os.pread(file.fileno(), int(offsets[last]) - base, base))
            bounds = (offsets[first : last + 1] - base).tolist()
            for pid, (start, end) in zip(range(first, last), pairwise(bounds), strict=True):
                digest = hashlib.blake2b(prefixes[articles[pid]], digest_size=KEY_BYTES)
                digest.update(chunk[start:end])
                digests.append(digest.digest())
    return np.frombuffer(b"".join(digests), dtype=KEY_DTYPE).astype(np.uint64)


@dataclass(frozen=True, slots=True)
class _EarlierSentences:
    """What an earlier snapshot tells of its passages' sentences: enough to recognise an
    unchanged passage, and the keys of its sentences."""

    passage_keys: np.ndarray
    text_lengths: np.ndarray
    sentence_offsets: np.ndarray
    spans: np.ndarray
    sentence_keys: np.ndarray


# The files an earlier snapshot's sentence keys are taken with.
_SENTENCE_FILES = ("embed_keys", "sentence_embed_keys", "text_offsets", "sentence_offsets", "sentences")


def _earlier_sentences(folder: Path) -> _EarlierSentences | None:
    """``folder``'s sentence keys and what they belong to; None if it has none, or any of those
    files fails the check a load makes, or they disagree on how many passages and sentences
    there are (then nothing is taken from it)."""
    try:
        manifest = Manifest.read_if_any(folder)
        if manifest is None or not manifest.intact(folder, (FILES[name] for name in _SENTENCE_FILES)):
            return None
        keys = np.fromfile(folder / FILES["embed_keys"], dtype=KEY_DTYPE)
        sentence_keys = np.fromfile(folder / FILES["sentence_embed_keys"], dtype=KEY_DTYPE)
        text_offsets = map_array(folder / FILES["text_offsets"], OFFSET_DTYPE)
        sentence_offsets = map_array(folder / FILES["sentence_offsets"], OFFSET_DTYPE)
        spans = map_array(folder / FILES["sentences"], np.int32).reshape(-1, 2)
    except (OSError, ValueError):
        return None
    passages = len(keys)
    if not (len(text_offsets) == len(sentence_offsets) == passages + 1 and passages):
        return None
    if not (len(sentence_keys) == len(spans) == sentence_offsets[-1]):
        return None
    return _EarlierSentences(keys, np.diff(text_offsets), sentence_offsets, spans, sentence_keys)


def sentence_keys(texts: SnapshotTexts, keys: np.ndarray, earlier: Iterable[Path]) -> np.ndarray:
    """The key of every sentence of ``texts``, whose passages have ``keys``: taken from the
    ``earlier`` snapshots for the passages they hold unchanged, the others' hashed."""
    out = np.zeros(texts.sentences, dtype=np.uint64)
    todo = np.arange(len(texts))  # the passages whose sentences have no key yet
    for folder in earlier:
        source = _earlier_sentences(folder) if len(todo) else None
        if source is not None:
            todo = _reuse_keys(texts, keys, source, todo, out)
    for first in range(0, len(todo), _HASH_PASSAGES):
        _hash_sentences(texts, todo[first : first + _HASH_PASSAGES], out)
    return out


def _reuse_keys(
    texts: SnapshotTexts, keys: np.ndarray, source: _EarlierSentences, todo: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """Copy into ``out`` the sentence keys of the passages of ``todo`` that ``source`` holds
    unchanged; the passages left."""
    order = np.argsort(source.passage_keys, kind="stable")
    sorted_keys = source.passage_keys[order]
    left = []
    for first in range(0, len(todo), _REUSE_PASSAGES):
        pids = todo[first : first + _REUSE_PASSAGES]
        at = np.minimum(np.searchsorted(sorted_keys, keys[pids]), len(sorted_keys) - 1)
        old = order[at]
        new_lengths = texts.text_offsets[pids + 1] - texts.text_offsets[pids]
        counts = texts.sentence_offsets[pids + 1] - texts.sentence_offsets[pids]
        same = (
            (sorted_keys[at] == keys[pids])
            & (source.text_lengths[old] == new_lengths)
            & (source.sentence_offsets[old + 1] - source.sentence_offsets[old] == counts)
        )
        reused = _copy_if_same_spans(texts, source, pids[same], old[same], counts[same], out)
        same[same] = reused
        left.append(pids[~same])
    return np.concatenate(left)


def _copy_if_same_spans(
    texts: SnapshotTexts,
    source: _EarlierSentences,
    pids: np.ndarray,
    old: np.ndarray,
    counts: np.ndarray,
    out: np.ndarray,
) -> np.ndarray:
    """For passages ``pids`` whose input key, text length (so their text) and sentence count
    equal those of ``source``'s passages ``old``: copy the sentence keys of those whose sentence
    spans are the same too (their sentences are then the same texts); which were."""
    new_sids = _ranges(texts.sentence_offsets[pids], counts)
    old_sids = _ranges(source.sentence_offsets[old], counts)
    owner = np.repeat(np.arange(len(pids)), counts)
    moved = np.any(texts.spans[new_sids] != source.spans[old_sids], axis=1)
    reused = np.ones(len(pids), dtype=bool)
    reused[owner[moved]] = False
    take = reused[owner]
    out[new_sids[take]] = source.sentence_keys[old_sids[take]]
    return reused


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``start, start + 1, ... start + count - 1`` for each pair, concatenated."""
    ends = np.cumsum(counts)
    return np.repeat(starts - (ends - counts), counts) + np.arange(int(ends[-1]) if len(ends) else 0)


def _hash_sentences(texts: SnapshotTexts, pids: np.ndarray, out: np.ndarray) -> None:
    """Cut out and hash the sentences of passages ``pids``, their keys into ``out``."""
    starts = texts.sentence_offsets[pids]
    counts = texts.sentence_offsets[pids + 1] - starts
    sids = _ranges(starts, counts)
    out[sids] = input_keys(texts.sentence_texts(sids))
