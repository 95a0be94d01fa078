"""Small talk: a short reply in the user's language, never quotes, never a real question."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.examples import example_questions, natural_question
from bot.smalltalk import Kind, recognise, reply, reply_text


@pytest.mark.parametrize(
    ("text", "kind", "language"),
    [
        ("hi", Kind.GREETING, "en"),
        ("Hello!", Kind.GREETING, "en"),
        ("hey there 👋", Kind.GREETING, "en"),
        ("Thanks a lot!", Kind.THANKS, "en"),
        ("who are you?", Kind.WHO, "en"),
        ("help", Kind.HELP, "en"),
        ("Привіт!", Kind.GREETING, "uk"),
        ("дякую", Kind.THANKS, "uk"),
        ("хто ти?", Kind.WHO, "uk"),
        ("допомога", Kind.HELP, "uk"),
        ("Привет, бот", Kind.GREETING, "ru"),
        ("спасибо большое", Kind.THANKS, "ru"),
        ("Кто ты?", Kind.WHO, "ru"),
        ("помощь", Kind.HELP, "ru"),
    ],
)
def test_greetings_thanks_who_and_help_are_told_with_their_language(text, kind, language):
    talk = recognise(text)
    assert talk is not None and talk.kind is kind and talk.language == language


@pytest.mark.parametrize(
    "text",
    [
        "hi, when was the Collective Security Treaty signed?",
        "Who are the members of the CSTO?",
        "help desk software",
        "Hello (Adele song)",
        "Привет, когда была Чернобыльская авария?",
        "Thanks to whom was the treaty signed?",
    ],
)
def test_a_question_with_a_greeting_in_it_is_still_a_question(text):
    assert recognise(text) is None


def test_the_reply_is_in_the_same_language_with_two_examples():
    examples = ("What is the European Union?", "What is Kyiv?", "What is HTML?")
    text, shown = reply(recognise("привіт"), examples)
    assert "Я відповідаю" in text and shown == examples[:2]
    text, shown = reply(recognise("hello"), examples)
    assert text.startswith("Hello!") and "quoting the articles" in text
    assert reply_text(recognise("спасибо"), examples).count("\n") == 2


def _eval_questions(eval_dir: Path) -> list[str]:
    questions: list[str] = []
    for path in sorted(eval_dir.glob("*/questions*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            questions.extend(json.loads(line)["question"] for line in lines if line.strip())
    scifact = eval_dir / "scifact" / "queries.jsonl"
    if scifact.exists():
        with scifact.open(encoding="utf-8") as lines:
            questions.extend(json.loads(line)["text"] for line in lines if line.strip())
    dialogs = eval_dir / "inscit" / "dialogs.jsonl"
    if dialogs.exists():
        with dialogs.open(encoding="utf-8") as lines:
            for line in lines:
                questions.extend(turn["question"] for turn in json.loads(line)["turns"])
    return questions


@pytest.mark.eval
def test_no_question_of_the_shared_eval_sets_is_taken_for_small_talk(eval_dir: Path):
    questions = _eval_questions(eval_dir)
    assert len(questions) > 5000
    assert [q for q in questions if recognise(q) is not None] == []


@pytest.mark.parametrize(
    ("title", "sentence", "question"),
    [
        (
            "Organization of a collective security agreement",
            "The Collective Security Treaty Organization (CSTO, Tashkent Treaty) is a military-political "
            "international organization that includes Belarus.",
            "What is the Collective Security Treaty Organization?",
        ),
        (
            "Taras Shevchenko",
            "Taras Hryhorovych Shevchenko (March 9, 1814 - March 10, 1861) was a Ukrainian poet.",
            "Who was Taras Shevchenko?",
        ),
        (
            "Armenia",
            "Armenia, officially the Republic of Armenia, is a landlocked country.",
            "What is Armenia?",
        ),
        ("Periodic table", "The periodic table is a tabular arrangement.", "What is the periodic table?"),
        (
            "Carpathian Mountains",
            "The Carpathian Mountains are a mountain system.",
            "What are the Carpathian Mountains?",
        ),
        ("Some list", "Lists of things follow.", "What is Some list?"),
    ],
)
def test_example_questions_are_asked_as_a_person_would(title, sentence, question):
    assert natural_question(title, sentence) == question


def test_the_sample_corpus_gives_natural_examples(sample_home):
    from bot.corpus import open_snapshot
    from bot.settings import load_settings

    settings = load_settings({"WIKIQA_HOME": str(sample_home), "WIKIQA_SEMANTIC": "off"}, dotenv=False)
    examples = example_questions(open_snapshot(settings), 3)
    assert len(examples) == 3
    assert examples[0] == "What is the Collective Security Treaty Organization?"
    assert all(q.endswith("?") and not q.startswith("Tell me about") for q in examples)


def test_a_refused_question_is_offered_questions_about_the_nearest_articles(sample_home):
    from bot.answer import Answerer
    from bot.corpus import open_snapshot
    from bot.settings import load_settings

    settings = load_settings({"WIKIQA_HOME": str(sample_home), "WIKIQA_SEMANTIC": "off"}, dotenv=False)
    answer = Answerer(open_snapshot(settings)).answer(
        "How many soldiers does the treaty organization have in Mongolia?"
    )
    assert answer.no_match
    assert "What is the Collective Security Treaty Organization?" in answer.suggestions
