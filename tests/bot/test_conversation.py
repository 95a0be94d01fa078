"""Conversations: a follow-up keeps its subject, a question that stands alone is answered as alone."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.answer import Answerer
from bot.conversation import EXPIRE_SECONDS, Context, ContextStore, Conversation, refers_back
from bot.corpus import open_snapshot
from bot.settings import load_settings
from retrieval.search.hit import Hit
from retrieval.search.semantic import MIN_STANDOUT
from tests.conftest import MISSING_MODELS

SCO = "What is the Shanghai Cooperation Organisation?"


@pytest.fixture(scope="module")
def answerer(sample_home: Path) -> Answerer:
    settings = load_settings({"WIKIQA_HOME": str(sample_home), "WIKIQA_SEMANTIC": "off"}, dotenv=False)
    return Answerer(open_snapshot(settings))


def _shown(answer) -> tuple:
    return (answer.answer, answer.no_match, [(q.article_id, q.start) for q in answer.quotes], answer.has_more)


def test_follow_up_with_a_pronoun_is_answered_about_the_previous_subject(answerer):
    chat = Conversation(answerer)
    chat.ask(SCO)
    answer = chat.ask("When was it founded?")
    assert answer.about == "Shanghai Cooperation Organisation"
    assert "2001" in answer.answer
    assert answer.quotes[0].title == "Shanghai Cooperation Organisation"


def test_the_same_question_first_in_a_conversation_is_answered_as_alone(answerer):
    alone = answerer.answer("When was it founded?")
    first = Conversation(answerer).ask("When was it founded?")
    assert first.about is None
    assert _shown(first) == _shown(alone)
    assert "Shanghai Cooperation Organisation" not in alone.quotes[0].title


@pytest.mark.parametrize(
    "question",
    ["What is the capital of Uzbekistan?", "When was the Warsaw Pact signed?", "How long is the Dnipro?"],
)
def test_a_question_that_stands_alone_is_answered_exactly_as_alone(answerer, question):
    chat = Conversation(answerer)
    chat.ask(SCO)
    followed = chat.ask(question)
    assert followed.about is None
    assert _shown(followed) == _shown(answerer.answer(question))


@pytest.mark.parametrize(
    ("earlier", "follow_up"),
    [
        ([SCO, "When was the Warsaw Pact signed?"], "When was it dissolved?"),
        (["When was the Warsaw Pact signed?"], "and when was it dissolved?"),
    ],
    ids=["a_new_topic_replaces_the_subject", "an_elliptic_follow_up"],
)
def test_a_follow_up_takes_the_latest_subject(answerer, earlier: list[str], follow_up: str):
    chat = Conversation(answerer)
    for question in earlier:
        chat.ask(question)
    answer = chat.ask(follow_up)
    assert answer.about == "Warsaw Pact"
    assert "1991" in answer.answer


def test_new_forgets_the_subject(answerer):
    chat = Conversation(answerer)
    chat.ask(SCO)
    chat.new()
    assert _shown(chat.ask("When was it founded?")) == _shown(answerer.answer("When was it founded?"))


def test_a_refused_question_keeps_the_subject_for_the_next_one(answerer):
    chat = Conversation(answerer)
    chat.ask(SCO)
    refused = chat.ask("How do I bake sourdough bread with rye flour?")
    assert refused.no_match
    assert chat.ask("When was it founded?").about == "Shanghai Cooperation Organisation"


def test_more_pages_of_a_follow_up_stay_on_its_subject(answerer):
    chat = Conversation(answerer)
    chat.ask(SCO)
    first = chat.ask("When was it founded?", k=1)
    second = chat.more()
    assert second is not None and second.page == 2
    assert second.about == first.about == "Shanghai Cooperation Organisation"
    assert (
        second.quotes[0].start != first.quotes[0].start
        or second.quotes[0].article_id != first.quotes[0].article_id
    )


def test_an_expired_subject_is_not_used(answerer):
    chat = Conversation(answerer)
    chat.ask(SCO)
    assert chat.context is not None
    chat.context = Context(chat.context.question, chat.context.articles, chat.context.at - EXPIRE_SECONDS - 1)
    assert chat.ask("When was it founded?").about is None


def test_the_store_expires_contexts_and_stays_bounded():
    store = ContextStore(max_size=2)
    context = Context("q", (("A", "Title A"),), at=1000.0)
    store.put("one", context)
    assert store.get("one", now=1000.0 + EXPIRE_SECONDS - 1) == context
    assert store.get("one", now=1000.0 + EXPIRE_SECONDS + 1) is None
    assert len(store) == 0
    for key in ("a", "b", "c"):
        store.put(key, Context(key, (), at=1000.0))
    assert len(store) == 2 and store.get("a", now=1000.0) is None
    store.forget("b")
    assert store.get("b", now=1000.0) is None


@pytest.mark.parametrize(
    "question",
    [
        "When was it founded?",
        "and in 1995?",
        "Когда её основали?",
        "А в 1995 году?",
        "Коли його заснували?",
        "Хто його очолює?",
        "What about Belarus?",
    ],
)
def test_pronouns_and_elliptic_openings_point_back_in_three_languages(question):
    assert refers_back(question)


@pytest.mark.parametrize(
    "question", ["When was the Warsaw Pact signed?", "Когда была основана ШОС?", "Коли заснували Київ?"]
)
def test_questions_naming_their_subject_do_not_point_back(question):
    assert not refers_back(question)


class _CrossLingualSearcher:
    """Stands in for the multilingual stage: finds the SCO only when the question names it."""

    def search(self, question, k=10, *, per_article=None, asked=None):
        if "Shanghai" in question:
            return [_hit("SCO", "Shanghai Cooperation Organisation", "It was founded in 2001.", 0.02)]
        return [_hit("Kyiv", "Kyiv", "The traditional founding date is 482.", 0.01)]

    def answer_line(self, question, hits, *, type_bonus=None):
        return hits[0].text if hits else None

    def semantic_support(self, question):
        return None


def _hit(article_id: str, title: str, text: str, above: float) -> Hit:
    """A hit ``above`` the similarity a cross-lingual answer needs."""
    similarity = MIN_STANDOUT + above
    return Hit(0, article_id, title, "", text, 1.0, (), ((0, len(text)),), 0, len(text), similarity)


def test_a_russian_follow_up_is_searched_with_the_subject(answerer):
    fake = Answerer(answerer.snapshot, make_searcher=lambda snapshot: _CrossLingualSearcher())
    context = Context(SCO, (("SCO", "Shanghai Cooperation Organisation"),), at=time.time())
    answer = fake.answer("Когда её основали?", context=context)
    assert answer.about == "Shanghai Cooperation Organisation"
    assert answer.answer == "It was founded in 2001."
    assert fake.answer("Когда её основали?").answer == "The traditional founding date is 482."


def test_an_unrelated_question_is_not_answered_with_the_old_subject(answerer):
    chat = Conversation(answerer)
    chat.ask("When was the Collective Security Treaty signed?")
    answer = chat.ask("What is quantum chromodynamics?")
    assert answer.no_match and answer.about is None


@pytest.mark.parametrize(
    ("first", "follow_up"),
    [
        ("Що таке Шанхайська організація співробітництва?", "Коли її засновано?"),
        ("Что такое Шанхайская организация сотрудничества?", "Когда её основали?"),
    ],
    ids=["ukrainian", "russian"],
)
def test_a_ukrainian_or_russian_follow_up_stays_in_its_language_and_finds_the_subject(
    semantic_snapshot, first: str, follow_up: str
) -> None:
    """The follow-up is searched with the subject's English title added, yet still as a question
    in the reader's language (by the model's vectors), as the reader typed it."""
    if MISSING_MODELS:
        pytest.skip(f"the semantic model is not installed ({', '.join(MISSING_MODELS)})")
    chat = Conversation(Answerer(semantic_snapshot))
    assert chat.ask(first).quotes[0].title == "Shanghai Cooperation Organisation"
    answer = chat.ask(follow_up)
    assert answer.about == "Shanghai Cooperation Organisation"
    assert answer.answer is not None and "2001" in answer.answer
