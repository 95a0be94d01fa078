"""The bot end to end: the real Application over real HTTP against the Bot API stand-in."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from bot.answer import Answer, Quote
from bot.telegram import handlers
from bot.telegram.keyboards import Action, ButtonPress
from bot.telegram.render_html import units
from bot.telegram.services import LocalAnswers
from retrieval.storage.articles import ArticleStore
from testing.bot_api_standin import BOT_USER, MAX_TEXT_LENGTH, StandIn
from tests.bot.telegram.conftest import (
    ADMIN_ID,
    ARTICLES,
    TOKEN,
    GatedAnswerer,
    Harness,
    keyboard_data,
    records,
)
from tests.bot.telegram.votes import stored_votes

CSTO_QUESTION = "When was the Collective Security Treaty signed?"


class TagBalance(HTMLParser):
    """Parses HTML back and checks every tag closes in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def balanced(html_text: str) -> str:
    parser = TagBalance()
    parser.feed(html_text)
    parser.close()
    assert not parser.errors and not parser.stack, (parser.errors, parser.stack)
    return "".join(parser.text)


def sent_html(standin: StandIn, chat_id: int) -> list[str]:
    return [c.params["text"] for c in standin.sent_to(chat_id)]


def entity_types(message: dict) -> set[str]:
    return {e["type"] for e in message.get("entities", [])}


async def test_question_gets_an_html_answer_with_quote_link_and_buttons(bot: Harness) -> None:
    user = bot.standin.user(101, "Olena")
    replies = await bot.ask(user, CSTO_QUESTION)

    text = "\n".join(r["text"] for r in replies)
    assert "May 15, 1992" in text
    last = replies[-1]
    assert {"expandable_blockquote", "bold", "text_link"} <= entity_types(last)
    links = [e["url"] for e in last["entities"] if e["type"] == "text_link"]
    assert "https://uk.wikipedia.org/wiki/CSTO" in links
    buttons = keyboard_data(last)
    assert {"👍", "👎"} <= set(buttons)
    assert all(len(data.encode()) <= 64 for data in buttons.values())
    assert [c["command"] for c in bot.standin.commands] == ["ask", "help", "about", "start", "new"]

    # The handler journals the question once its reply is sent, which may be just after this test
    # sees the reply: wait (boundedly) for it to be queued.
    for _ in range(200):
        stats = await asyncio.to_thread(bot.services.journal.stats)
        if stats.questions_total:
            break
        await asyncio.sleep(0.05)
    assert stats.questions_total == 1


async def test_more_sends_the_next_quotes_and_keeps_the_first_page(bot: Harness) -> None:
    user = bot.standin.user(102)
    replies = await bot.ask(user, "Which city is the capital of Ukraine and Uzbekistan?")
    answer_message = replies[-1]
    more = keyboard_data(answer_message)["More ▸"]
    chat_id = answer_message["chat"]["id"]
    before = len(bot.standin.sent_to(chat_id))

    bot.standin.callback(user, answer_message, more)
    page = await bot.replies(chat_id, before, keyboard=True)
    assert "page 2" in page[0]["text"]
    assert page[0]["reply_to_message"]["message_id"] == answer_message["message_id"]
    assert not bot.standin.calls_of("editMessageText")
    kept = bot.standin.messages[(chat_id, answer_message["message_id"])]
    assert kept["text"] == answer_message["text"] and kept["text"].startswith("💡")
    assert set(keyboard_data(kept)) == {"👍", "👎"}  # its "More" is gone, its page stays
    assert bot.standin.calls_of("answerCallbackQuery")


async def test_feedback_is_stored_and_a_second_vote_replaces_the_first(bot: Harness) -> None:
    user = bot.standin.user(103)
    replies = await bot.ask(user, CSTO_QUESTION)
    buttons = keyboard_data(replies[-1])
    ref = buttons["👍"].split(":")[1]

    bot.standin.callback(user, replies[-1], buttons["👍"])
    await bot.standin.wait_for(lambda: len(bot.standin.calls_of("answerCallbackQuery")) == 1)
    assert await asyncio.to_thread(stored_votes, bot.services.journal, ref) == {103: 1}

    bot.standin.callback(user, replies[-1], buttons["👎"])
    await bot.standin.wait_for(lambda: len(bot.standin.calls_of("answerCallbackQuery")) == 2)
    assert await asyncio.to_thread(stored_votes, bot.services.journal, ref) == {103: -1}
    stats = await asyncio.to_thread(bot.services.journal.stats)
    assert (stats.thumbs_up, stats.thumbs_down) == (0, 1)


async def test_forged_and_stale_buttons_get_a_short_notice(bot: Harness) -> None:
    user = bot.standin.user(104)
    replies = await bot.ask(user, CSTO_QUESTION)
    real = keyboard_data(replies[-1])["👍"]
    action, ref, page, signature = real.split(":")
    forged = [
        "m:AAAAAAAAAAA:2:AAAAAAAA",  # right shape, wrong signature
        f"{action}:{ref}:{page}:{signature[::-1]}",
        "not-ours",
        "x" * 64,
    ]
    for data in forged:
        bot.standin.callback(user, replies[-1], data)
    # A well-signed button for a question this bot never saw (lost, or another deployment's).
    bot.standin.callback(user, replies[-1], bot.services.codec.encode(ButtonPress(Action.MORE, "Z" * 11, 2)))

    answered = await bot.standin.wait_for(
        lambda: (
            len(bot.standin.calls_of("answerCallbackQuery")) == 5
            and bot.standin.calls_of("answerCallbackQuery")
        ),
        what="five callback answers",
    )
    assert all(c.status == 200 for c in answered)
    notices = sorted(c.params["text"] for c in answered)
    assert sum("can't use that button" in n for n in notices) == 4, notices
    assert sum("too old" in n for n in notices) == 1, notices
    assert len(bot.standin.sent_to(104)) == len(replies)  # no "something went wrong"


async def test_inline_query_offers_titles_and_snippets_that_send_the_quote(bot: Harness) -> None:
    user = bot.standin.user(105)
    bot.standin.inline_query(user, "capital city Ukraine")
    calls = await bot.standin.wait_for(
        lambda: bot.standin.calls_of("answerInlineQuery"), what="inline answer"
    )
    call = calls[0]
    assert call.status == 200
    results = call.params["results"]
    assert 1 <= len(results) <= 10
    assert any(r["title"] == "Kyiv" for r in results)
    for result in results:
        assert result["type"] == "article" and result["description"]
        content = result["input_message_content"]
        assert content["parse_mode"] == "HTML" and "<blockquote>" in content["message_text"]


async def test_group_answers_mentions_replies_and_ask_but_ignores_chatter(bot: Harness) -> None:
    group = bot.standin.group_chat(-100500)
    alice, bob = bot.standin.user(106, "Alice"), bot.standin.user(107, "Bob")
    mention = f"@{BOT_USER['username']}"

    bot.standin.message(alice, "Anyone up for borscht tonight?", chat=group)
    bot.standin.message(bob, "@someone_else when was the treaty signed?", chat=group)
    first = await bot.ask(alice, f"{mention} when was the Collective Security Treaty signed?", chat=group)
    assert "May 15, 1992" in "\n".join(m["text"] for m in first)
    assert first[0]["reply_to_message"]["from"]["id"] == 106

    second = await bot.ask(bob, "And where was it signed?", chat=group, reply_to=first[-1])
    assert second[-1]["reply_to_message"]["from"]["id"] == 107

    third = await bot.ask(bob, f"/ask@{BOT_USER['username']} What is borscht made of?", chat=group)
    assert "beetroot" in "\n".join(m["text"] for m in third)
    bot.standin.message(alice, "thanks!", chat=group)
    bot.standin.message(bob, f"/ask@other_bot {CSTO_QUESTION}", chat=group)
    fourth = await bot.ask(alice, f"/ask {CSTO_QUESTION}", chat=group)

    # Every reply answers one of the four addressed messages; chatter got none.
    answered_ids = {m["reply_to_message"]["message_id"] for m in (*first, *second, *third, *fourth)}
    replied_to = {c.result["reply_to_message"]["message_id"] for c in bot.standin.sent_to(group["id"])}
    assert replied_to == answered_ids and len(answered_ids) == 4


class GatedReindexer:
    """The real reindexer, whose result is held back until the test opens the gate: the answers
    given before then were given while the reindex was running."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.gate = asyncio.Event()

    async def run(self, on_progress: Any) -> dict[str, Any]:
        build = asyncio.ensure_future(self.real.run(on_progress))
        await self.gate.wait()
        return await build


async def test_admin_reindex_while_twenty_users_ask(make_bot: Any, corpus: Any) -> None:
    bot: Harness = await make_bot(answer_workers=1)  # answers in a worker process, as in production
    reindexer = GatedReindexer(bot.services.admin.reindexer)
    bot.services.admin.reindexer = reindexer
    admin = bot.standin.user(ADMIN_ID, "Admin")
    old_version = bot.services.corpus.snapshot_info().version
    store = ArticleStore(corpus.database_url)
    store.upsert(
        records(
            {
                "Zorbatron": (
                    "Zorbatron",
                    "The Zorbatron is a fictional lighthouse on the Azov coast, lit in 1871.",
                )
            }
        ),
        source="addition",
    )
    store.close()

    started = await bot.command(admin, "/reindex")
    assert "Reindex started" in started["text"]
    refused = await bot.command(admin, "/reindex")
    assert "already running" in refused["text"]
    users = [bot.standin.user(2000 + i) for i in range(20)]
    answers = await asyncio.gather(*(bot.ask(u, CSTO_QUESTION) for u in users))
    assert all("May 15, 1992" in "\n".join(m["text"] for m in reply) for reply in answers)
    assert bot.services.admin.running

    reindexer.gate.set()
    await bot.standin.wait_for(
        lambda: any(
            "Reindex done" in c.result["text"] for c in bot.standin.calls_of("editMessageText") if c.result
        ),
        timeout=60,
        what="the reindex to finish",
    )
    assert not any("went wrong" in c.params["text"] for c in bot.standin.calls_of("sendMessage"))
    after = await bot.ask(bot.standin.user(3000), "When was the Zorbatron lighthouse lit?")
    assert "1871" in "\n".join(m["text"] for m in after)
    assert bot.services.corpus.snapshot_info().version != old_version


async def test_non_admin_reindex_and_stats_are_refused_and_logged(bot: Harness, caplog: Any) -> None:
    caplog.set_level(logging.WARNING, logger="bot.telegram.admin")
    user = bot.standin.user(108)
    reply = await bot.command(user, "/reindex")
    assert "only for the bot's administrators" in reply["text"]
    reply = await bot.command(user, "/stats")
    assert "only for the bot's administrators" in reply["text"]
    assert "refused /reindex from non-admin user 108" in caplog.text
    assert "refused /stats from non-admin user 108" in caplog.text


async def test_admin_stats_show_questions_latency_feedback_and_snapshot(bot: Harness) -> None:
    user = bot.standin.user(109)
    replies = await bot.ask(user, CSTO_QUESTION)
    bot.standin.callback(user, replies[-1], keyboard_data(replies[-1])["👍"])
    await bot.standin.wait_for(lambda: bot.standin.calls_of("answerCallbackQuery"))
    reply = await bot.command(bot.standin.user(ADMIN_ID), "/stats")
    assert "1 today, 1 in total" in reply["text"]
    assert "👍 1 · 👎 0" in reply["text"]
    assert f"{len(ARTICLES)} articles" in reply["text"]


@pytest.mark.filterwarnings("error::telegram.warnings.PTBDeprecationWarning")
async def test_a_429_from_telegram_is_waited_out_not_dropped(bot: Harness) -> None:
    bot.standin.fail_next("sendMessage", retry_after=1)
    replies = await bot.ask(bot.standin.user(110), CSTO_QUESTION)
    assert "May 15, 1992" in replies[-1]["text"]
    sends = bot.standin.calls_of("sendMessage")
    assert [c.status for c in sends] == [429, 200]
    assert sends[1].at - sends[0].at >= 1.0


async def test_a_10000_character_question_is_cut_with_a_notice(bot: Harness) -> None:
    question = ("When was the Collective Security Treaty signed in Tashkent? " * 200)[:10_000]
    replies = await bot.ask(bot.standin.user(111), question)
    assert replies[0]["text"].startswith("Your question was long, so I used its first 1,000 characters.")
    assert all(units(m["text"]) <= MAX_TEXT_LENGTH for m in replies)


async def test_article_full_of_markup_characters_renders_as_valid_html(bot: Harness) -> None:
    replies = await bot.ask(bot.standin.user(112), "What did the escaping engineer say about ampersands?")
    html_sent = sent_html(bot.standin, 112)
    shown = "\n".join(balanced(h) for h in html_sent)
    assert "<script>alert(1)</script>" in shown
    assert "3 < 5 && 7 > 2" in shown
    assert 'Tags & "Quotes" <in> titles' in shown
    assert "<script>" in replies[-1]["text"]  # the stand-in parsed it as Telegram would


class LongPassageAnswerer:
    """An answerer whose only quote is a 10,000-character passage (real passages are capped)."""

    def __init__(self) -> None:
        sentence = 'The river <Dnieper> & its "dams" carry water to the Black Sea. '
        self.text = (sentence * 200)[:10_000]

    def answer(self, question: str, *, page: int = 1, k: int | None = None, context=None) -> Answer:
        quote = Quote(
            self.text, "Dnieper", "Dnieper", "https://uk.wikipedia.org/wiki/Dnieper", 9.0, ((4, 9),)
        )
        return Answer(question, "A very long answer.", (quote,), False, snapshot_version="fake")


async def test_a_10000_character_passage_is_split_into_valid_messages(make_bot: Any) -> None:
    fake = LongPassageAnswerer()
    bot: Harness = await make_bot(answers=LocalAnswers(fake))
    replies = await bot.ask(bot.standin.user(113), "Tell me about the Dnieper")
    assert len(replies) >= 3
    html_sent = sent_html(bot.standin, 113)
    assert all(units(h) <= MAX_TEXT_LENGTH for h in html_sent)
    texts = [balanced(h) for h in html_sent]
    assert all(entity_types(m) >= {"expandable_blockquote"} for m in replies)
    assert "".join("".join(texts).split()).endswith("".join(fake.text.split()))
    assert [("reply_markup" in m) for m in replies] == [False] * (len(replies) - 1) + [True]


async def test_rate_limit_sends_one_friendly_notice_then_stays_quiet(make_bot: Any, corpus: Any) -> None:
    bot: Harness = await make_bot(settings=replace(corpus, rate_limit_per_minute=2))
    user = bot.standin.user(114)
    await bot.ask(user, CSTO_QUESTION)
    await bot.ask(user, CSTO_QUESTION)
    notice = await bot.command(user, CSTO_QUESTION)
    assert "at most 2 questions a minute" in notice["text"]
    bot.standin.message(user, CSTO_QUESTION)
    other = await bot.ask(bot.standin.user(115), CSTO_QUESTION)  # processed after the dropped one
    assert other and len(bot.standin.sent_to(114)) == 3


class BrokenAnswerer:
    def answer(self, question: str, *, page: int = 1, k: int | None = None, context=None) -> Answer:
        raise RuntimeError("index exploded")


async def test_errors_are_logged_with_the_update_and_users_get_no_traceback(
    make_bot: Any, caplog: Any
) -> None:
    caplog.set_level(logging.ERROR, logger="bot.telegram.handlers")
    bot: Harness = await make_bot(answers=LocalAnswers(BrokenAnswerer()))
    reply = await bot.command(bot.standin.user(116), CSTO_QUESTION)
    assert reply["text"] == "Sorry, something went wrong. Please try again in a moment."
    assert "index exploded" in caplog.text and "update " in caplog.text
    assert "Traceback" not in reply["text"]


async def test_start_help_and_about(bot: Harness) -> None:
    user = bot.standin.user(117, "Taras")
    assert "Hello, Taras" in (await bot.command(user, "/start"))["text"]
    help_text = (await bot.command(user, "/help"))["text"]
    examples = [line[len("• ") :] for line in help_text.splitlines() if line.startswith("• ")]
    assert len(examples) == 3  # questions about the corpus, asked as a person would
    assert "What is the Collective Security Treaty Organization?" in examples
    assert all(q.startswith(("What ", "Who ")) and q.endswith("?") for q in examples)
    assert "More ▸" in help_text
    about = (await bot.command(user, "/about"))["text"]
    assert f"{len(ARTICLES)} articles" in about and "indexed" in about


async def test_the_token_never_appears_in_logs(make_bot: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    bot: Harness = await make_bot()
    await bot.ask(bot.standin.user(118), CSTO_QUESTION)
    bot.standin.fail_next("sendMessage", retry_after=1)
    await bot.ask(bot.standin.user(119), CSTO_QUESTION)
    assert caplog.records, "expected debug logging from the bot and its HTTP client"
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text


async def test_typing_is_shown_only_while_a_slow_answer_is_awaited(
    make_bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot: Harness = await make_bot()
    monkeypatch.setattr(handlers, "TYPING_AFTER_SECONDS", 3600.0)  # every answer is "fast"
    await bot.ask(bot.standin.user(120), CSTO_QUESTION)
    assert not bot.standin.calls_of("sendChatAction")  # a fast answer costs one request

    monkeypatch.setattr(handlers, "TYPING_AFTER_SECONDS", 0.01)  # every answer is "slow"
    gated = GatedAnswerer(bot.services.answers.answerer)
    bot.services.answers = LocalAnswers(gated)
    chat = bot.standin.private_chat(bot.standin.user(121))
    bot.standin.message(bot.standin.user(121), CSTO_QUESTION, chat=chat)
    await bot.standin.wait_for(lambda: bot.standin.calls_of("sendChatAction"), what="a typing action")
    assert not bot.standin.sent_to(121)  # typing shows while the answer is still being worked out
    gated.gate.set()
    replies = await bot.replies(121, 0, keyboard=True)
    assert "May 15, 1992" in replies[-1]["text"]
    typing = bot.standin.calls_of("sendChatAction")
    assert [(c.params["chat_id"], c.params["action"]) for c in typing] == [(121, "typing")]


def plant_decoy_bot_package(folder: Path) -> Path:
    """A ``bot/`` package whose reindex worker only leaves a mark: what ``python -m`` would run
    from this folder if the working folder came first on the import path."""
    mark = folder / "decoy-ran"
    worker = folder / "bot" / "telegram" / "reindex_worker.py"
    worker.parent.mkdir(parents=True)
    (folder / "bot" / "__init__.py").write_text("")
    (folder / "bot" / "telegram" / "__init__.py").write_text("")
    worker.write_text(f"open({str(mark)!r}, 'w').close()\nprint('{{\"error\": \"the decoy ran\"}}')\n")
    return mark


async def test_reindex_runs_wikiqas_own_code_from_a_folder_holding_another_bot_package(
    make_bot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoy = tmp_path / "elsewhere"
    mark = plant_decoy_bot_package(decoy)
    monkeypatch.chdir(decoy)
    bot: Harness = await make_bot()
    admin = bot.standin.user(ADMIN_ID, "Admin")
    started = await bot.command(admin, "/reindex")
    assert "Reindex started" in started["text"]
    done = await bot.standin.wait_for(
        lambda: [
            c
            for c in bot.standin.calls_of("editMessageText")
            if c.result and "Reindex" in c.result["text"] and "🔄" not in c.result["text"]
        ],
        timeout=60,
        what="the reindex to end",
    )
    assert "Reindex done" in done[-1].result["text"], done[-1].result["text"]
    assert not mark.exists()
