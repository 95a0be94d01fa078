"""'Did you mean': corrections come from the corpus's own words."""

from __future__ import annotations

from bot.suggest import MAX_WORDS, Speller, edit_distance

WORDS = {"collective": 12, "security": 30, "treaty": 25, "treat": 2, "tashkent": 4, "elective": 1}


def test_edit_distance_counts_insertions_deletions_substitutions_and_swaps():
    assert edit_distance("treaty", "treaty") == 0
    assert edit_distance("colective", "collective") == 1
    assert edit_distance("secruity", "security") == 1  # adjacent swap
    assert edit_distance("tashknet", "tashkent") == 1
    assert edit_distance("abc", "xyz") == 3
    assert edit_distance("a", "abcdef") == 3  # capped at limit + 1


def test_misspelled_words_get_the_nearest_known_word():
    speller = Speller(WORDS)
    assert speller.corrections("colective") == ["collective"]
    assert speller.corrections("securty") == ["security"]
    assert speller.corrections("TASHKNET") == ["tashkent"]


def test_only_the_nearest_distance_is_offered_most_frequent_first():
    speller = Speller({"treaty": 25, "treats": 3, "tready": 1})
    assert speller.corrections("treaty") == []  # known word: nothing to correct
    assert speller.corrections("treatz") == ["treaty", "treats"]  # "tready" is two edits away
    assert speller.corrections("trezty") == ["treaty"]


def test_known_short_and_hopeless_words_get_nothing():
    speller = Speller(WORDS)
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


def test_accepts_pairs_and_keeps_only_the_most_frequent_words():
    common = [(_letters(i), 2) for i in range(MAX_WORDS - 1)]
    speller = Speller([*common, ("zanzibar", 1000), ("quixotic", 1)])
    assert "zanzibar" in speller
    assert speller.corrections("zanzibr") == ["zanzibar"]
    assert "quixotic" not in speller
