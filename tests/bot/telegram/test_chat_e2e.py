"""Conversations, small talk and compact answers in Telegram: the real Application against the
Bot API stand-in."""

from __future__ import annotations

import html
import re
from typing import Any

from bot.answer import Answerer
from bot.conversation import Conversation
from bot.settings import Settings
from bot.telegram.services import LocalAnswers
from retrieval.index.publish import load_snapshot
from testing.bot_api_standin import BOT_USER
from tests.bot.telegram.conftest import ADMIN_ID, Harness, keyboard_data

SCO_QUESTION = "What is the Shanghai Cooperation Organisation?"
FOLLOW_UP = "When was it founded?"
# What Telegram shows of a collapsed expandable block quote: about three lines on a phone, which
# this many characters stand for when measuring how much a first message shows.
COLLAPSED_QUOTE_CHARS = 150
_EXPANDABLE = re.compile(r"<blockquote expandable>(.*?)</blockquote>", re.DOTALL)
_TAG = re.compile(r"<[^<>]+>")


def shown_collapsed(message: str) -> int:
    """How many characters of a message's text a reader sees before expanding anything: all the
    text outside expandable quotes plus the first :data:`COLLAPSED_QUOTE_CHARS` of each."""

    def text(fragment: str) -> str:
        return html.unescape(_TAG.sub("", fragment))

    seen, pos = 0, 0
    for match in _EXPANDABLE.finditer(message):
        seen += len(text(message[pos : match.start()]))
        seen += min(COLLAPSED_QUOTE_CHARS, len(text(match.group(1))))
        pos = match.end()
    return seen + len(text(message[pos:]))


def entity_text(message: dict, entity: dict) -> str:
    """The text an entity covers (its offsets count UTF-16 code units)."""
    encoded = message["text"].encode("utf-16-le")
    return encoded[2 * entity["offset"] : 2 * (entity["offset"] + entity["length"])].decode("utf-16-le")


def text_of(messages: list[dict]) -> str:
    return "\n".join(m["text"] for m in messages)


async def test_a_follow_up_in_a_private_chat_keeps_the_subject_and_says_so(bot: Harness) -> None:
    user = bot.standin.user(301)
    await bot.ask(user, SCO_QUESTION)
    replies = await bot.ask(user, FOLLOW_UP)
    text = text_of(replies)
    first_line = text.splitlines()[0]
    assert first_line.startswith("💡") and "2001" in first_line
    assert "(about Shanghai Cooperation Organisation)" in text
    assert text.split("📖 ")[1].startswith("Shanghai Cooperation Organisation")


async def test_the_same_question_first_is_answered_as_alone(bot: Harness) -> None:
    replies = await bot.ask(bot.standin.user(302), FOLLOW_UP)
    text = text_of(replies)
    assert "(about" not in text and "2001" not in text.splitlines()[0]


async def test_new_starts_afresh(bot: Harness) -> None:
    user = bot.standin.user(303)
    await bot.ask(user, SCO_QUESTION)
    reply = await bot.command(user, "/new")
    assert "afresh" in reply["text"]
    assert "(about" not in text_of(await bot.ask(user, FOLLOW_UP))


async def test_each_user_has_a_conversation_of_their_own(bot: Harness) -> None:
    await bot.ask(bot.standin.user(304), SCO_QUESTION)
    assert "(about" not in text_of(await bot.ask(bot.standin.user(305), FOLLOW_UP))


async def test_in_a_group_a_reply_to_the_bot_continues_that_thread_only(bot: Harness) -> None:
    group = bot.standin.group_chat(-100777)
    alice, bob = bot.standin.user(306, "Alice"), bot.standin.user(307, "Bob")
    first = await bot.ask(alice, f"/ask {SCO_QUESTION}", chat=group)
    threaded = await bot.ask(bob, FOLLOW_UP, chat=group, reply_to=first[-1])
    assert "(about Shanghai Cooperation Organisation)" in text_of(threaded)
    fresh = await bot.ask(alice, f"@{BOT_USER['username']} {FOLLOW_UP}", chat=group)
    assert "(about" not in text_of(fresh)


async def test_more_of_a_follow_up_shows_what_the_conversation_shows(make_bot: Any, corpus: Settings) -> None:
    answerer = Answerer(load_snapshot(corpus.snapshots_dir), quotes_per_page=1)
    bot: Harness = await make_bot(answers=LocalAnswers(answerer))
    user = bot.standin.user(308)
    await bot.ask(user, SCO_QUESTION)
    replies = await bot.ask(user, FOLLOW_UP)
    more = keyboard_data(replies[-1])["More ▸"]
    chat_id = replies[-1]["chat"]["id"]
    before = len(bot.standin.sent_to(chat_id))
    bot.standin.callback(user, replies[-1], more)
    page = await bot.replies(chat_id, before, keyboard=True)
    chat = Conversation(answerer)
    chat.ask(SCO_QUESTION)
    chat.ask(FOLLOW_UP)
    expected = chat.more()
    alone = answerer.answer(FOLLOW_UP, page=2)
    shown = [line.removeprefix("📖 ") for line in text_of(page).splitlines() if line.startswith("📖 ")]
    assert "page 2" in page[0]["text"]
    assert shown == [q.title for q in expected.quotes]
    assert [q.title for q in alone.quotes] != shown


async def test_greetings_get_a_short_reply_in_their_language_never_quotes(bot: Harness) -> None:
    user = bot.standin.user(309)
    for text, expected in (("hi", "Hello!"), ("привіт", "Вітаю!"), ("спасибо", "Пожалуйста!")):
        reply = await bot.command(user, text)
        assert reply["text"].startswith(expected)
        assert "blockquote" not in {e["type"] for e in reply.get("entities", [])}
        assert "<script>" not in reply["text"] and "reply_markup" not in reply
        assert reply["text"].count("?") == 2  # two example questions from the corpus


async def test_the_first_message_shows_at_most_a_thousand_characters_before_expanding(bot: Harness) -> None:
    user = bot.standin.user(310)
    replies = await bot.ask(user, "When was the Collective Security Treaty signed?")
    sent = bot.standin.sent_to(replies[0]["chat"]["id"])[-len(replies)]
    assert shown_collapsed(sent.params["text"]) <= 1000
    assert "expandable_blockquote" in {e["type"] for e in replies[0]["entities"]}


async def test_bold_marks_the_answering_sentence_not_every_question_word(bot: Harness) -> None:
    replies = await bot.ask(bot.standin.user(311), "When was the Collective Security Treaty signed?")
    message = replies[0]
    line = message["text"].splitlines()[0].removeprefix("💡 ")
    quotes = [e for e in message["entities"] if e["type"] == "expandable_blockquote"]
    bold = [e for e in message["entities"] if e["type"] == "bold"]
    in_quotes = [
        b for b in bold if any(q["offset"] <= b["offset"] < q["offset"] + q["length"] for q in quotes)
    ]
    assert in_quotes, "the answering sentence's matched words are bold"
    for b in in_quotes:
        assert entity_text(message, b) in line
    # the same words outside the answering sentence stay plain
    assert len(in_quotes) < message["text"].count("Collective") + message["text"].count("Treaty")


async def test_report_shows_the_admin_what_was_refused_and_rated_down(bot: Harness) -> None:
    user = bot.standin.user(312)
    answered = await bot.ask(user, "When was the Collective Security Treaty signed?")
    bot.standin.callback(user, answered[-1], keyboard_data(answered[-1])["👎"])
    await bot.standin.wait_for(lambda: bot.standin.calls_of("answerCallbackQuery"))
    refusal = await bot.ask(user, "What is quantum chromodynamics?")
    assert refusal[0]["text"].startswith("I'm sorry"), refusal[0]["text"]
    admin = bot.standin.user(ADMIN_ID)
    report = (await bot.command(admin, "/report 7d"))["text"]
    assert "wikiqa report" in report and "2 questions" in report
    assert "refused 50%" in report and "👎 50%" in report
    assert "What is quantum chromodynamics?" in report
    assert (
        "When was the Collective Security Treaty signed? → Collective Security Treaty Organization" in report
    )
    refused = await bot.command(user, "/report")
    assert "wikiqa report" not in refused["text"]
