"""A reply the bot gives up on because the Bot API is unavailable is one log line naming the update
and the reason, not a traceback; a bug in a handler keeps its traceback."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.settings import Settings
from bot.telegram.api_retry import Backoff, RetryPolicy
from bot.telegram.serve import services_from_settings
from bot.telegram.services import LocalAnswers
from testing.bot_api_standin import StandIn
from tests.bot.telegram.conftest import TOKEN, GatedAnswerer, Harness, start_bot, stop_bot
from tests.bot.telegram.test_api_outage import (  # noqa: F401 (bot: a fixture)
    FAST_RETRIES,
    QUESTION,
    bot,
    reply_statuses,
)

HANDLERS = "bot.telegram.handlers"


def send(standin: StandIn, chat_id: int, text: str) -> int:
    """Queue a user's message; its update id."""
    standin.message(standin.user(chat_id), text)
    return standin._updates[-1]["update_id"]


def handler_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == HANDLERS]


async def wait_for_record(caplog: pytest.LogCaptureFixture, timeout: float = 30) -> logging.LogRecord:
    for _ in range(int(timeout / 0.05)):
        if handler_records(caplog):
            return handler_records(caplog)[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing logged by {HANDLERS}: {caplog.text}")


def assert_one_line(caplog: pytest.LogCaptureFixture, record: logging.LogRecord, update_id: int) -> None:
    assert record.levelno == logging.WARNING
    assert record.exc_info is None and record.exc_text is None
    line = record.getMessage()
    assert line.startswith(f"update {update_id}: gave up on the Telegram Bot API: "), line
    assert "\n" not in line
    assert len(handler_records(caplog)) == 1
    # No traceback from the reply's failure anywhere. (The harness polls without wikiqa serve's
    # error_callback, so python-telegram-bot's Updater logs its own failed polls with one; what
    # serve does with those is test_api_outage's test_an_outage_while_polling_is_logged_once...)
    for other in caplog.records:
        if other.name != "telegram.ext.Updater":
            assert other.exc_info is None, f"{other.name}: {other.getMessage()}"
    assert "Traceback" not in "".join(
        caplog.handler.format(r) for r in caplog.records if r.name != "telegram.ext.Updater"
    )


async def test_a_reply_answered_5xx_through_every_attempt_is_one_log_line(
    bot: Harness,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    attempts = FAST_RETRIES.attempts  # the bot fixture's policy
    bot.standin.fail_next("sendMessage", status=502, times=attempts)
    chat_id = 621
    update_id = send(bot.standin, chat_id, QUESTION)
    sorry = await bot.replies(chat_id, 0)
    assert sorry[0]["text"] == "Sorry, something went wrong. Please try again in a moment."
    assert reply_statuses(bot.standin, chat_id) == [502] * attempts + [200]
    record = await wait_for_record(caplog)
    assert_one_line(caplog, record, update_id)
    assert "502" in record.getMessage()


async def test_a_reply_refused_through_every_attempt_is_one_log_line(
    standin: StandIn, corpus: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    services = services_from_settings(corpus, TOKEN, answer_workers=0)
    policy = RetryPolicy(attempts=3, backoff=Backoff(first=0.01, cap=0.02))
    harness = await start_bot(standin, services, retry=policy)
    gated = GatedAnswerer(services.answers.answerer)
    services.answers = LocalAnswers(gated)
    try:
        update_id = send(standin, 622, QUESTION)
        await standin.wait_for(lambda: gated.waiting, what="the question to reach the answerer")
        await standin.stop_listening()
        gated.gate.set()
        record = await wait_for_record(caplog)
        assert_one_line(caplog, record, update_id)
    finally:
        await standin.listen_again()
        await stop_bot(harness)
    # The answer was never sent; the apology may have been, once the port listened again.
    assert all(c.result["text"].startswith("Sorry") for c in standin.sent_to(622))


async def test_a_bug_in_a_handler_keeps_its_traceback(
    bot: Harness,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def answer(self, question: str, *, page: int = 1, k: int | None = None, context=None):
            raise RuntimeError("a bug")

    caplog.set_level(logging.INFO)
    bot.services.answers.answerer = Broken()
    update_id = send(bot.standin, 623, QUESTION)
    sorry = await bot.replies(623, 0)
    assert sorry[0]["text"] == "Sorry, something went wrong. Please try again in a moment."
    record = await wait_for_record(caplog)
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert record.getMessage() == f"update {update_id} failed: RuntimeError('a bug')"
