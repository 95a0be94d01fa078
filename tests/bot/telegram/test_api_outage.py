"""The bot through Bot API failures: replies answered 5xx or whose connection dropped, the API down
when ``wikiqa serve`` starts, and an outage while it long-polls.

Replies go through the real Application against the stand-in, with retry delays of milliseconds;
the serve tests run ``wikiqa serve`` and read its stderr line by line as it comes.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.telegram.api_retry import Backoff, RetryPolicy
from bot.telegram.serve import services_from_settings
from bot.telegram.services import LocalAnswers
from testing.bot_api_standin import StandIn
from tests.bot.telegram.conftest import TOKEN, GatedAnswerer, Harness, start_bot, stop_bot
from tests.bot.telegram.test_serve_cli import free_port, run_serve, serve_env

QUESTION = "When was the Collective Security Treaty signed?"
FAST_RETRIES = RetryPolicy(backoff=Backoff(first=0.01, cap=0.04))


@pytest.fixture
async def bot(standin: StandIn, corpus: Settings) -> AsyncIterator[Harness]:
    """The production bot (answers on threads) with the production retry policy, only faster."""
    services = services_from_settings(corpus, TOKEN, answer_workers=0)
    harness = await start_bot(standin, services, retry=FAST_RETRIES)
    yield harness
    await stop_bot(harness)


def reply_statuses(standin: StandIn, chat_id: int) -> list[int]:
    return [c.status for c in standin.calls_of("sendMessage") if c.params.get("chat_id") == chat_id]


# ----------------------------------------------------------------------------- a reply that failed
async def test_a_reply_answered_500_is_sent_again_and_arrives_once(bot: Harness) -> None:
    bot.standin.fail_next("sendMessage", status=500)
    replies = await bot.ask(bot.standin.user(601), QUESTION)
    assert "May 15, 1992" in replies[-1]["text"]
    assert reply_statuses(bot.standin, 601) == [500, 200]
    assert len(bot.standin.sent_to(601)) == 1


async def test_a_reply_whose_connection_dropped_unanswered_arrives_once(bot: Harness) -> None:
    bot.standin.drop_next("sendMessage")
    replies = await bot.ask(bot.standin.user(602), QUESTION)
    assert "May 15, 1992" in replies[-1]["text"]
    assert reply_statuses(bot.standin, 602) == [0, 200]  # 0: dropped before it was carried out
    assert len(bot.standin.sent_to(602)) == 1


async def test_a_reply_answered_5xx_several_times_running_still_arrives(bot: Harness) -> None:
    """A 5xx means the API did not post the message: sendMessage is sent again as often as the
    policy allows, not just once."""
    bot.standin.fail_next("sendMessage", status=500, times=2)
    bot.standin.fail_next("sendMessage", status=502)
    replies = await bot.ask(bot.standin.user(603), QUESTION)
    assert "May 15, 1992" in replies[-1]["text"]
    assert reply_statuses(bot.standin, 603) == [500, 500, 502, 200]
    assert len(bot.standin.sent_to(603)) == 1


async def test_a_reply_dropped_twice_after_sending_is_not_sent_a_third_time(bot: Harness) -> None:
    """A connection dropped after the request was written may have posted it: after two such
    sends, no third, and the user is told."""
    bot.standin.drop_next("sendMessage", times=2)
    chat_id = 605
    bot.standin.message(bot.standin.user(chat_id), QUESTION)
    sorry = await bot.replies(chat_id, 0)
    assert sorry[0]["text"] == "Sorry, something went wrong. Please try again in a moment."
    assert reply_statuses(bot.standin, chat_id) == [0, 0, 200]


async def test_a_reply_refused_a_connection_is_sent_until_the_api_listens_again(
    standin: StandIn, corpus: Settings
) -> None:
    """A refused connection means the request was never sent, so even sendMessage is sent again
    as often as the policy allows; the test reopens the port once the first retry is due."""
    retry_due = threading.Event()

    def jitter() -> float:
        retry_due.set()
        return 0.0

    services = services_from_settings(corpus, TOKEN, answer_workers=0)
    policy = RetryPolicy(attempts=50, backoff=Backoff(first=0.05, cap=0.1, random=jitter))
    harness = await start_bot(standin, services, retry=policy)
    gated = GatedAnswerer(services.answers.answerer)  # after start-up, whose warm-up it would hold
    services.answers = LocalAnswers(gated)
    try:
        standin.message(standin.user(604), QUESTION)
        await standin.wait_for(lambda: gated.waiting, what="the question to reach the answerer")
        await standin.stop_listening()
        gated.gate.set()
        assert await asyncio.to_thread(retry_due.wait, 30), "the refused reply was never retried"
        await standin.listen_again()
        replies = await standin.wait_for(lambda: standin.sent_to(604), timeout=30, what="the reply")
        assert "May 15, 1992" in replies[-1].result["text"]
        assert len(standin.sent_to(604)) == 1
    finally:
        await stop_bot(harness)


# ----------------------------------------------------------------------------- wikiqa serve
class Stderr:
    """A running process's stderr, read line by line as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.lines: list[str] = []
        self._process = process

    async def wait_for(self, text: str, timeout: float = 60) -> None:
        async def read() -> None:
            assert self._process.stderr is not None
            while not any(text in line for line in self.lines):
                line = await self._process.stderr.readline()
                assert line, f"stderr ended without {text!r}: {self.lines}"
                self.lines.append(line.decode())

        await asyncio.wait_for(read(), timeout)

    async def rest(self, timeout: float = 30) -> str:
        """Everything, once the process has exited."""
        _, tail = await asyncio.wait_for(self._process.communicate(), timeout)
        return "".join(self.lines) + tail.decode()


async def answers(standin: StandIn, chat_id: int) -> None:
    """The running bot answers the question asked in ``chat_id``."""
    standin.message(standin.user(chat_id), QUESTION)
    replies = await standin.wait_for(lambda: standin.sent_to(chat_id), timeout=30, what="an answer")
    assert "May 15, 1992" in replies[0].result["text"]


async def stopped(process: asyncio.subprocess.Process, stderr: Stderr, timeout: float = 30) -> str:
    """SIGTERM ``wikiqa serve``, which exits 0 with no traceback: its whole stderr."""
    process.send_signal(signal.SIGTERM)
    text = await stderr.rest(timeout=timeout)
    assert process.returncode == 0, text
    assert "Traceback" not in text
    return text


async def refuse_attempts(port: int, count: int, timeout: float = 60) -> None:
    """Listen on ``port`` and close each connection unanswered until ``count`` have come."""
    attempts = 0
    enough = asyncio.Event()

    async def refuse(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1
        writer.close()
        if attempts >= count:
            enough.set()

    server = await asyncio.start_server(refuse, "127.0.0.1", port)
    try:
        await asyncio.wait_for(enough.wait(), timeout)
    finally:
        server.close()
        await server.wait_closed()


async def test_serve_waits_for_an_unreachable_api_saying_so_once_then_answers(
    corpus: Settings, tmp_path: Path
) -> None:
    port = free_port()
    env = serve_env(corpus, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{port}")
    process = await run_serve(env, tmp_path, "--workers", "1")
    stderr = Stderr(process)
    standin = StandIn(TOKEN)
    try:
        await stderr.wait_for("cannot reach the Telegram Bot API")  # nothing listens: refused
        await refuse_attempts(port, 2)  # then two more attempts fail, their connections dropped
        await standin.start(port)
        await standin.wait_for(lambda: standin.calls_of("getUpdates"), timeout=60, what="polling")
        await answers(standin, 611)
    finally:
        text = await stopped(process, stderr)
        await standin.stop()
    assert text.count("cannot reach the Telegram Bot API") == 1
    assert text.count("answers again") == 1


async def test_serve_waiting_for_the_api_stops_at_once_on_sigterm(corpus: Settings, tmp_path: Path) -> None:
    env = serve_env(corpus, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{free_port()}")
    process = await run_serve(env, tmp_path, "--workers", "1")
    stderr = Stderr(process)
    await stderr.wait_for("cannot reach the Telegram Bot API")
    await stopped(process, stderr, timeout=10)


async def test_an_outage_while_polling_is_logged_once_and_answering_resumes(
    corpus: Settings, standin: StandIn, tmp_path: Path
) -> None:
    env = serve_env(corpus, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=standin.base_url)
    process = await run_serve(env, tmp_path, "--workers", "1")
    stderr = Stderr(process)
    try:
        await standin.wait_for(lambda: standin.calls_of("getUpdates"), timeout=60, what="polling")
        standin.go_down()
        failed_polls = lambda: len(standin.dropped("getUpdates")) >= 3  # noqa: E731
        await standin.wait_for(failed_polls, timeout=60, what="failed polls")
        standin.come_up()
        await stderr.wait_for("answers again")
        await answers(standin, 612)
    finally:
        text = await stopped(process, stderr)
    assert text.count("cannot reach the Telegram Bot API") == 1 and text.count("answers again") == 1
