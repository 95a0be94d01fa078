""" "Did you mean": corrections for misspelled question words, from the index's own words.

Only words the corpus actually contains are ever suggested, so a suggestion always finds
something. Lookup uses a symmetric-delete index (every known word filed under itself and each
one-letter deletion of it): a misspelling within two edits shares a key with its correction
after at most two deletions on its side and one on the word's, and candidates are then checked
with a true edit distance.

The index is built once with the snapshot and saved beside it as sorted 64-bit key hashes and
the word each key files, so a process loads it in milliseconds. Built in memory by each process
instead it takes seconds at a hundred thousand passages, and an answer worker that met its first
misspelling after a reindex would stop answering for that long.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from retrieval.index.format import FILES

MAX_DISTANCE = 2
MIN_WORD_CHARS = 4
MAX_SUGGESTIONS = 3
# Only the most frequent words are indexed: a corpus's rarest words are mostly its own typos and
# one-off names, and each indexed word files about ten keys.
MAX_WORDS = 50_000


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _hash(key: str) -> int:
    """A key's 64-bit hash, the same in every process (``hash()`` is salted per process)."""
    return int.from_bytes(
        hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little"
    )


def edit_distance(a: str, b: str, limit: int = MAX_DISTANCE) -> int:
    """Optimal-string-alignment distance (adjacent transpositions count 1), capped at ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def indexed_words(words: Iterable[tuple[str, int]]) -> list[str]:
    """The words worth correcting towards: case-folded, alphabetic, at least
    :data:`MIN_WORD_CHARS` long, the :data:`MAX_WORDS` most frequent (ties alphabetical)."""
    counts: dict[str, int] = {}
    for word, count in words:
        word = word.casefold()
        if len(word) >= MIN_WORD_CHARS and word.isalpha():
            counts[word] = counts.get(word, 0) + int(count)
    alphabetical = sorted(counts)
    order = np.argsort(
        -np.fromiter((counts[w] for w in alphabetical), np.int64, len(alphabetical)), kind="stable"
    )
    return [alphabetical[i] for i in order[:MAX_WORDS].tolist()]


def write_spelling_index(words: Iterable[tuple[str, int]], directory: Path) -> None:
    """Save the index of ``words`` (surface word, occurrences) into ``directory``."""
    kept = indexed_words(words)
    hashes: list[int] = []
    owners: list[int] = []
    for number, word in enumerate(kept):
        keys = _deletes(word)
        keys.add(word)
        hashes.extend(map(_hash, keys))
        owners.extend([number] * len(keys))
    key_array = np.array(hashes, dtype=np.uint64)
    order = np.argsort(key_array, kind="stable")
    (directory / FILES["spelling_words"]).write_text("".join(f"{word}\n" for word in kept), encoding="utf-8")
    np.save(directory / FILES["spelling_keys"], key_array[order])
    np.save(directory / FILES["spelling_key_words"], np.array(owners, dtype=np.int32)[order])


class SpellingIndex:
    """Corrections from an index saved by :func:`write_spelling_index`.

    Words shorter than :data:`MIN_WORD_CHARS` are neither corrected nor suggested: with so few
    letters, two edits reach almost anything.
    """

    def __init__(self, directory: Path) -> None:
        self._words = (directory / FILES["spelling_words"]).read_text(encoding="utf-8").splitlines()
        self._known = frozenset(self._words)
        self._keys = np.load(directory / FILES["spelling_keys"], mmap_mode="r")
        self._key_words = np.load(directory / FILES["spelling_key_words"], mmap_mode="r")

    def __contains__(self, word: str) -> bool:
        return word.casefold() in self._known

    def corrections(self, word: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
        """The known words nearest ``word`` (within two edits), most frequent first.

        Only the nearest distance is offered: a one-edit correction makes two-edit ones noise.
        """
        word = word.casefold()
        if len(word) < MIN_WORD_CHARS or word in self._known:
            return []
        keys = {word} | _deletes(word)
        keys |= {d for key in list(keys) if len(key) > 1 for d in _deletes(key)}
        ranked: list[tuple[int, int, str]] = []
        for number in self._filed_under(keys):
            known = self._words[number]
            distance = edit_distance(word, known)
            if distance <= MAX_DISTANCE:
                ranked.append((distance, number, known))  # numbers run most frequent first
        ranked.sort()
        nearest = [known for distance, _, known in ranked if distance == ranked[0][0]]
        return nearest[:limit]

    def _filed_under(self, keys: set[str]) -> list[int]:
        """Numbers of the words filed under any of ``keys`` (hash collisions only add candidates
        that the edit distance then turns away)."""
        wanted = np.fromiter(map(_hash, keys), np.uint64, len(keys))
        starts = np.searchsorted(self._keys, wanted, side="left")
        ends = np.searchsorted(self._keys, wanted, side="right")
        hits = [self._key_words[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True) if e > s]
        return np.unique(np.concatenate(hits)).tolist() if hits else []
