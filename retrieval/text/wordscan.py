"""The analyzer's word matches over a whole batch of text at once, with numpy instead of ``findall``.

Building an index reads about 120 million words at a million passages. ``findall`` of the
analyzer's word pattern makes a string object per word and each then costs a dict lookup: about
1 µs a word, most of a build. Here the text is an array of code points, words are found from a
per-character class table (:func:`find_words`), and each word short enough is packed into two
64-bit integers (:func:`pack_words`) and looked up in an open-addressing table in numpy arrays
(:class:`PackedWordIds`). Only words the process has not seen before, and the rare word that
cannot be packed, become Python strings.
"""

from __future__ import annotations

import functools
import re
import sys

import numpy as np

from retrieval.text.analysis import APOSTROPHES

_APOSTROPHES = tuple(map(ord, APOSTROPHES))
# Words of at most this many characters, all below U+0100, are packed one byte a character.
PACKED_CHARS = 16
_LOW_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(8)] + [2**64 - 1], np.uint64)
# Odd multipliers (from the golden ratio and a splitmix64 constant) for the table's slot hash.
_MIX1 = np.uint64(0x9E3779B97F4A7C15)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)


def every_character() -> str:
    """All code points in order, one string (for asking the regex engine about each at once)."""
    return np.arange(sys.maxunicode + 1, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")


@functools.cache
def word_characters() -> np.ndarray:
    """For every code point, whether ``\\w`` matches it (found with the regex engine itself)."""
    table = np.zeros(sys.maxunicode + 1, np.bool_)
    for run in re.finditer(r"\w+", every_character()):
        table[run.start() : run.end()] = True
    return table


def code_points(text: str) -> np.ndarray:
    """``text`` as a uint32 array, one element per character (lone surrogates included)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)


def find_words(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the non-overlapping matches of the analyzer's ``WORD_PATTERN``
    in ``codes`` (a test holds the two to the same matches on random text of many scripts).

    A match is a maximal run of word characters and of apostrophes that have a word character on
    both sides: the regex takes ``\\w+`` greedily and then any number of apostrophe + ``\\w+``.
    """
    word = word_characters()[codes]
    joined = word.copy()
    if len(codes) >= 3:
        inner = codes[1:-1]
        apostrophe = (inner == _APOSTROPHES[0]) | (inner == _APOSTROPHES[1])
        joined[1:-1] |= apostrophe & word[:-2] & word[2:]
    edges = np.flatnonzero(np.diff(joined, prepend=False, append=False))
    return edges[0::2], edges[1::2]


def pack_words(
    codes: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each word as two uint64 keys (its characters as bytes, zero-padded) and whether it fits.

    A word fits when it has at most :data:`PACKED_CHARS` characters, all below U+0100; then the
    keys identify it exactly (a word never contains U+0000). Keys of words that do not fit are
    meaningless.
    """
    lengths = ends - starts
    fits = lengths <= PACKED_CHARS
    high = codes > 0xFF
    if high.any():
        before = np.concatenate(([0], np.cumsum(high, dtype=np.int64)))
        fits &= before[ends] == before[starts]
    padded = np.zeros(len(codes) + 2 * PACKED_CHARS, np.uint8)
    padded[: len(codes)] = codes  # wraps above 0xFF, only in words that do not fit
    # Every offset's next eight bytes as one little-endian integer (an unaligned, overlapping view).
    windows = np.ndarray((len(codes) + PACKED_CHARS,), np.dtype("<u8"), padded, 0, (1,))
    low = windows[starts] & _LOW_BYTES[np.minimum(lengths, 8)]
    high_half = windows[starts + 8] & _LOW_BYTES[np.clip(lengths - 8, 0, 8)]
    return low, high_half, fits


class PackedWordIds:
    """Packed word keys -> word ids: an open-addressing hash table (linear probing) in numpy arrays.

    Lookups and inserts work on whole arrays of keys; the probe loop runs once per collision
    depth, not once per key. Kept at most half full.
    """

    def __init__(self, capacity_bits: int = 16) -> None:
        self._allocate(capacity_bits)
        self.size = 0

    def _allocate(self, bits: int) -> None:
        self._bits = bits
        self._low = np.zeros(1 << bits, np.uint64)
        self._high = np.zeros(1 << bits, np.uint64)
        self._ids = np.full(1 << bits, -1, np.int64)

    def _slots(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        mixed = (low * _MIX1) ^ (high * _MIX2)
        mixed ^= mixed >> np.uint64(29)
        return ((mixed * _MIX1) >> np.uint64(64 - self._bits)).astype(np.int64)

    def lookup(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """The id of each key, -1 where the key is not in the table.

        The first probe is done on the whole arrays; only keys whose slot holds another key probe
        on, a shrinking subset (an empty slot, id -1, ends a probe with a miss; no real key is
        all zeros, so an empty slot never matches).
        """
        mask = (1 << self._bits) - 1
        at = self._slots(low, high)
        ids = self._ids[at]
        hit = (self._low[at] == low) & (self._high[at] == high)
        found = np.where(hit, ids, -1)
        todo = np.flatnonzero(~hit & (ids >= 0))
        at = at[todo]
        while todo.size:
            at = (at + 1) & mask
            ids = self._ids[at]
            hit = (self._low[at] == low[todo]) & (self._high[at] == high[todo])
            found[todo[hit]] = ids[hit]
            more = ~hit & (ids >= 0)
            todo, at = todo[more], at[more]
        return found

    def insert(self, low: np.ndarray, high: np.ndarray, ids: np.ndarray) -> None:
        """Add keys that are not in the table yet, each once."""
        if 2 * (self.size + len(low)) > len(self._ids):
            self._grow(self.size + len(low))
        slots = self._slots(low, high)
        todo = np.arange(len(low))
        mask = (1 << self._bits) - 1
        while todo.size:
            at = slots[todo]
            free = self._ids[at] < 0
            # Of several keys probing the same free slot, the first takes it; the rest move on.
            _, first = np.unique(at[free], return_index=True)
            winners = todo[free][first]
            self._low[slots[winners]] = low[winners]
            self._high[slots[winners]] = high[winners]
            self._ids[slots[winners]] = ids[winners]
            placed = np.zeros(len(low), np.bool_)
            placed[winners] = True
            todo = todo[~placed[todo]]
            slots[todo] = (slots[todo] + 1) & mask
        self.size += len(low)

    def _grow(self, needed: int) -> None:
        keep = np.flatnonzero(self._ids >= 0)
        low, high, ids = self._low[keep], self._high[keep], self._ids[keep]
        bits = self._bits
        while (1 << bits) < 2 * needed:
            bits += 1
        self._allocate(bits)
        self.size = 0
        self.insert(low, high, ids)
