"""A user who blocked the bot (403 on every send) is one log line, not a traceback per message,
and the chat is not answered until it writes again; ``/stats`` on a store that cannot be read
tells the admin why in one sentence."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from bot.telegram.journal import Journal
from tests.bot.telegram.conftest import ADMIN_ID, Harness

QUESTION = "When was the Collective Security Treaty signed?"
HANDLERS = "bot.telegram.handlers"


async def test_a_chat_that_blocked_the_bot_is_one_line_and_not_answered_until_it_writes_again(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    standin, user, chat_id = bot.standin, bot.standin.user(701), 701
    standin.fail_next("sendMessage", status=403)
    standin.message(user, QUESTION)
    await standin.wait_for(lambda: [r for r in caplog.records if r.name == HANDLERS], what="a log line")
    # Sent before the block was noticed (queued meanwhile): not answered.
    standin.message(user, "Where is Tashkent?")["date"] = int(time.time()) - 60
    standin.message(user, QUESTION)["date"] = int(time.time()) + 60  # unblocked, and writes again
    replies = await bot.replies(chat_id, 0)
    assert "May 15, 1992" in replies[0]["text"]
    sends = [c.status for c in standin.calls_of("sendMessage") if c.params.get("chat_id") == chat_id]
    assert sends == [403, 200]  # no apology to a blocked chat, nothing for the queued message

    records = [r for r in caplog.records if r.name == HANDLERS]
    assert len(records) == 1 and records[0].levelno == logging.INFO and records[0].exc_info is None
    assert f"chat {chat_id} refuses the bot's messages" in records[0].getMessage()
    assert "Traceback" not in caplog.text


async def test_stats_on_an_unreadable_store_tells_the_admin_why(
    make_bot: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database file\n" * 200)
    bot = await make_bot(journal=Journal(f"sqlite:///{garbage}"))
    reply = await bot.command(bot.standin.user(ADMIN_ID, "Admin"), "/stats")
    assert reply["text"] == (
        f"I cannot read the statistics: database sqlite:///{garbage} failed: file is not a database."
    )
    assert all(r.exc_info is None for r in caplog.records if r.name.startswith("bot."))
    assert "Traceback" not in caplog.text
