"""Telling a question in another language from an English one, and Ukrainian from Russian."""

from __future__ import annotations

import json
from pathlib import Path

from retrieval.semantic.language import is_foreign, language
from retrieval.text.analysis import Analyzer

ANALYZER = Analyzer()
CORPUS = set(
    ANALYZER.terms(
        "The Collective Security Treaty was signed in Tashkent on May 15, 1992. Paris is the capital."
    )
)


def foreign(question: str) -> bool:
    return is_foreign(question, ANALYZER.terms(question), CORPUS.__contains__)


def test_russian_and_ukrainian_questions_are_foreign_by_their_script() -> None:
    assert foreign("Когда был подписан Договор о коллективной безопасности?")
    assert foreign("Коли було підписано Договір про колективну безпеку?")


def test_an_english_question_with_a_typo_or_a_foreign_name_stays_english() -> None:
    assert not foreign("When was the Collective Securty Treaty signed?")
    assert not foreign("When was the treaty signed in Ташкент?")  # a name in Cyrillic


def test_a_latin_script_question_of_mostly_unknown_words_is_foreign() -> None:
    assert foreign("Quand le pacte de défense commune fut-il conclu ?")


def test_short_or_letterless_questions_are_never_foreign() -> None:
    assert not foreign("1992?")
    assert not foreign("Zanzibar cloves")


def test_ukrainian_and_russian_questions_are_told_apart_by_their_letters_and_words() -> None:
    assert language("Коли було підписано Договір про колективну безпеку?") == "uk"
    assert language("Когда был подписан Договор о коллективной безопасности?") == "ru"
    assert language("З ким одружився Олександр I?") == "uk"  # no і, ї or є: its words tell
    assert language("Кого победил Бронкос в игре чемпионата АФК?") == "ru"  # no ы, э or ё either


def test_a_latin_script_question_is_english_and_a_short_untold_one_just_cyrillic() -> None:
    assert language("When was the treaty signed in Ташкент?") == "en"
    assert language("Москва") == "cyrillic"
    assert language("") == "en"


def test_the_shared_ukrainian_and_russian_questions_are_read_as_asked(eval_dir: Path) -> None:
    """Every question of UA-SQuAD and XQuAD-ru in Cyrillic script is given its language."""
    for name, expected in (("ua-squad/questions.jsonl", "uk"), ("xquad-ru/questions.jsonl", "ru")):
        for line in (eval_dir / name).read_text("utf-8").splitlines():
            question = json.loads(line)["question"]
            if language(question) != "en":  # a few are half in Latin letters (names)
                assert language(question) == expected, question
