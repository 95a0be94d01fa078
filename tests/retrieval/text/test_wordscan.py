"""The numpy word scanner finds exactly the analyzer's word matches and maps them to ids exactly."""

from __future__ import annotations

import random

import numpy as np

from retrieval.text import analysis
from retrieval.text.wordscan import (
    PACKED_CHARS,
    PackedWordIds,
    code_points,
    find_words,
    pack_words,
)

# Word characters of several scripts, apostrophes, separators, marks and an astral character.
ALPHABET = list("ab_Z09'’ .-\x00\n\té\u00dfЖǅ²٣\u0301\u00a0漢😀𝔘\ud800")


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choices(ALPHABET, k=rng.randint(0, 60)))


def test_words_are_the_regex_matches_on_random_text() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        text = _random_text(rng)
        starts, ends = find_words(code_points(text))
        expected = [(m.start(), m.end()) for m in analysis._WORD.finditer(text)]
        assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == expected, repr(text)


def test_packed_keys_tell_words_apart_exactly() -> None:
    rng = random.Random(6)
    text = " ".join(
        "".join(rng.choices("ab'é\u00ffЖ", k=rng.randint(1, PACKED_CHARS + 3))) for _ in range(5000)
    )
    codes = code_points(text)
    starts, ends = find_words(codes)
    low, high, fits = pack_words(codes, starts, ends)
    words = [text[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    for word, fit in zip(words, fits.tolist(), strict=True):
        assert fit == (len(word) <= PACKED_CHARS and max(map(ord, word)) <= 0xFF)
    keys: dict[tuple[int, int], str] = {}
    for word, a, b, fit in zip(words, low.tolist(), high.tolist(), fits.tolist(), strict=True):
        if fit:
            assert keys.setdefault((a, b), word) == word
    assert len(keys) == len({w for w, f in zip(words, fits.tolist(), strict=True) if f})


def test_packed_word_ids_find_what_was_inserted_and_nothing_else() -> None:
    rng = np.random.default_rng(8)
    table = PackedWordIds(capacity_bits=4)  # grows several times
    keys = np.unique(rng.integers(1, 2**63, size=(6000, 2), dtype=np.int64).astype(np.uint64), axis=0)
    # Keys sharing a first half, so slots collide through the hash of the second half only.
    keys[:50, 0] = 7
    keys = np.unique(keys, axis=0)
    inserted, absent = keys[: len(keys) // 2], keys[len(keys) // 2 :]
    for chunk in np.array_split(np.arange(len(inserted)), 7):
        table.insert(inserted[chunk, 0], inserted[chunk, 1], chunk + 100)
    found = table.lookup(inserted[:, 0], inserted[:, 1])
    np.testing.assert_array_equal(found, np.arange(len(inserted)) + 100)
    assert (table.lookup(absent[:, 0], absent[:, 1]) == -1).all()
    assert table.size == len(inserted)
