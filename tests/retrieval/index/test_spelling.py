"""'Did you mean': corrections come from the corpus's own words, through the saved index."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from retrieval.index.spelling import (
    MAX_DISTANCE,
    MAX_WORDS,
    SpellingIndex,
    _deletes,
    edit_distance,
    indexed_words,
    write_spelling_index,
)

WORDS = {"collective": 12, "security": 30, "treaty": 25, "treat": 2, "tashkent": 4, "elective": 1}


def index_of(words: dict[str, int] | Iterable[tuple[str, int]], directory: Path) -> SpellingIndex:
    pairs = words.items() if isinstance(words, dict) else words
    write_spelling_index(pairs, directory)
    return SpellingIndex(directory)


def test_edit_distance_counts_insertions_deletions_substitutions_and_swaps():
    assert edit_distance("treaty", "treaty") == 0
    assert edit_distance("colective", "collective") == 1
    assert edit_distance("secruity", "security") == 1  # adjacent swap
    assert edit_distance("tashknet", "tashkent") == 1
    assert edit_distance("abc", "xyz") == 3
    assert edit_distance("a", "abcdef") == 3  # capped at limit + 1


def test_misspelled_words_get_the_nearest_known_word(tmp_path: Path):
    speller = index_of(WORDS, tmp_path)
    assert speller.corrections("colective") == ["collective"]
    assert speller.corrections("securty") == ["security"]
    assert speller.corrections("TASHKNET") == ["tashkent"]


def test_only_the_nearest_distance_is_offered_most_frequent_first(tmp_path: Path):
    speller = index_of({"treaty": 25, "treats": 3, "tready": 1}, tmp_path)
    assert speller.corrections("treaty") == []  # known word: nothing to correct
    assert speller.corrections("treatz") == ["treaty", "treats"]  # "tready" is two edits away
    assert speller.corrections("trezty") == ["treaty"]


def test_known_short_and_hopeless_words_get_nothing(tmp_path: Path):
    speller = index_of(WORDS, tmp_path)
    assert speller.corrections("security") == []
    assert speller.corrections("tre") == []  # too short to guess
    assert speller.corrections("xylophone") == []
    assert "Treaty" in speller


def _letters(number: int) -> str:
    out = ""
    for _ in range(5):
        number, digit = divmod(number, 26)
        out += chr(97 + digit)
    return "w" + out


def test_keeps_only_the_most_frequent_words(tmp_path: Path):
    common = [(_letters(i), 2) for i in range(MAX_WORDS - 1)]
    speller = index_of([*common, ("zanzibar", 1000), ("quixotic", 1)], tmp_path)
    assert "zanzibar" in speller
    assert speller.corrections("zanzibr") == ["zanzibar"]
    assert "quixotic" not in speller


def test_words_are_folded_and_ranked_by_frequency_then_alphabetically():
    pairs = [("Beta", 2), ("delta", 2), ("alpha", 2), ("gamma", 5), ("beta", 1), ("x1y2", 9), ("abc", 9)]
    assert indexed_words(pairs) == ["gamma", "beta", "alpha", "delta"]


def _dict_corrections(words: list[str]) -> Callable[[str], list[str]]:
    """The same symmetric-delete lookup over an in-memory dictionary: the plain rules."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for number, known in enumerate(words):
        for key in _deletes(known) | {known}:
            by_key[key].append(number)

    def corrections(word: str) -> list[str]:
        keys = {word} | _deletes(word)
        keys |= {d for key in list(keys) if len(key) > 1 for d in _deletes(key)}
        numbers = {n for key in keys for n in by_key.get(key, ())}
        ranked = [
            (d, n)
            for d, n in sorted((edit_distance(word, words[n]), n) for n in numbers)
            if d <= MAX_DISTANCE
        ]
        return [words[n] for d, n in ranked if d == ranked[0][0]][:3]

    return corrections


def test_hashed_lookups_find_what_the_plain_dictionary_finds(tmp_path: Path):
    rng = random.Random(7)
    letters = "aeioubcdklmnrst"
    vocabulary = {
        "".join(rng.choice(letters) for _ in range(rng.randint(4, 9))): rng.randint(1, 50)
        for _ in range(3000)
    }
    speller = index_of(vocabulary, tmp_path)
    plain = _dict_corrections(indexed_words(vocabulary.items()))
    words = indexed_words(vocabulary.items())
    for _ in range(400):
        word = rng.choice(words)
        for _ in range(rng.randint(1, 2)):
            at = rng.randrange(len(word))
            word = word[:at] + rng.choice(["", rng.choice(letters), rng.choice(letters) * 2]) + word[at + 1 :]
        if len(word) < 4 or word in speller:
            continue
        assert speller.corrections(word) == plain(word), word
