"""Telling a question in another language from an English one."""

from __future__ import annotations

from retrieval.semantic.language import is_foreign
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
