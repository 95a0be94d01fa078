"""Names and numbers of a Cyrillic question, found again in English text."""

from __future__ import annotations

import pytest

from retrieval.text.names import question_names, sound_key


@pytest.mark.parametrize(
    ("cyrillic", "english"),
    [
        ("Ньютона", "Newton"),  # declined
        ("Гастінгсі", "Hastings"),  # Ukrainian Г for H
        ("Джерсі", "Jersey"),
        ("Чарлстон", "Charleston"),
        ("Варшаве", "Warsaw"),
        ("Хубилая", "Kublai"),
        ("Ньюкасле", "Newcastle"),
        ("Гарвард", "Harvard"),
        ("Александра", "Alexander"),
    ],
)
def test_a_transliterated_name_is_found_in_english_text(cyrillic: str, english: str) -> None:
    names = question_names(f"Кто такой {cyrillic}?")
    assert names.keys == (sound_key(cyrillic),)
    assert names.held_by(f"It was {english} who came.") == 1


@pytest.mark.parametrize(
    ("cyrillic", "english"),
    [("Ньютона", "Nixon"), ("Варшаве", "Moscow"), ("Гастінгсі", "Hamburg"), ("Джерсі", "Geneva")],
)
def test_another_name_is_not_taken_for_it(cyrillic: str, english: str) -> None:
    assert question_names(f"Кто такой {cyrillic}?").held_by(f"It was {english} who came.") == 0


def test_a_name_must_be_capitalised_in_the_text() -> None:
    assert question_names("Где жил Ньютон?").held_by("a newton is a unit of force") == 0


def test_numbers_and_latin_words_are_matched_as_written() -> None:
    names = question_names("Что случилось в 1970-х с сетью ABC и классом NP?")
    assert names.numbers == {"1970"} and names.latin == {"abc", "np"}
    assert names.held_by("In the 1970s ABC rose; NP is a class.") == 3
    assert names.held_by("In 1980 CBS rose.") == 0


def test_the_first_word_single_digits_and_abbreviations_are_no_names() -> None:
    names = question_names("Сколько стран в ООН и что такое 5 Тесла?")
    assert names.keys == (sound_key("Тесла"),) and not names.numbers and not names.latin
    assert len(question_names("Когда это было?")) == 0


def test_keys_ignore_vowels_h_w_and_a_leading_g_or_h() -> None:
    assert sound_key("Hamburg") == sound_key("Гамбург") == "5162"
    assert sound_key("") == ""
