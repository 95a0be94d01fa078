"""``wikiqa serve`` as a real process: start-up failures, serving, and SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx

from bot.settings import Settings
from testing.bot_api_standin import StandIn
from tests.bot.telegram.conftest import TOKEN

WIKIQA = str(Path(sys.executable).parent / "wikiqa")


def serve_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WIKIQA_"))}
    env.update(
        WIKIQA_HOME=str(settings.home),
        WIKIQA_DATABASE_URL=settings.database_url,
        WIKIQA_ADMIN_IDS="9001",
        **extra,
    )
    return env


async def run_serve(env: dict[str, str], cwd: Path, *options: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        WIKIQA,
        "serve",
        *options,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_missing_token_stops_with_one_sentence(bot_settings: Settings, tmp_path: Path) -> None:
    process = await run_serve(serve_env(bot_settings), tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    lines = stderr.decode().strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith("error: TELEGRAM_BOT_TOKEN is not set")


async def test_rejected_token_stops_with_one_sentence(
    corpus: Settings, standin: StandIn, tmp_path: Path
) -> None:
    wrong = "700000001:AAF-a-token-telegram-does-not-know"
    env = serve_env(corpus, TELEGRAM_BOT_TOKEN=wrong, TELEGRAM_API_BASE_URL=standin.base_url)
    process = await run_serve(env, tmp_path)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    text = stderr.decode()
    assert process.returncode == 1
    assert text.strip().splitlines()[-1] == (
        "error: Telegram rejected the bot token in TELEGRAM_BOT_TOKEN; check it with @BotFather."
    )
    assert wrong not in text and wrong.split(":")[1] not in text
    assert [c.status for c in standin.calls_of("getMe")] == [401]


async def test_serve_answers_then_shuts_down_cleanly_on_sigterm(
    corpus: Settings, standin: StandIn, tmp_path: Path
) -> None:
    env = serve_env(corpus, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=standin.base_url)
    # Debug logs (every request) for the token check; one answer process (the default is one per CPU).
    process = await run_serve(env, tmp_path, "--verbose", "--workers", "1")
    try:
        await standin.wait_for(lambda: standin.calls_of("getUpdates"), timeout=60, what="polling to start")
        user = standin.user(501)
        standin.message(user, "When was the Collective Security Treaty signed?")
        replies = await standin.wait_for(lambda: standin.sent_to(501), timeout=30, what="an answer")
        assert "May 15, 1992" in replies[0].result["text"]
        assert standin.calls_of("setMyCommands") and standin.calls_of("deleteWebhook")
        assert (corpus.home / "bot.heartbeat").is_file()  # what the container healthcheck reads
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    text = stderr.decode()
    assert process.returncode == 0, text
    assert "wikiqa bot stopped" in text
    assert "Traceback" not in text
    assert TOKEN not in text and TOKEN.split(":")[1] not in text


async def test_first_start_on_an_empty_store_loads_the_bundled_seed_and_answers(
    bot_settings: Settings, standin: StandIn, tmp_path: Path
) -> None:
    env = serve_env(bot_settings, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=standin.base_url)
    process = await run_serve(env, tmp_path, "--workers", "1")
    try:
        await standin.wait_for(lambda: standin.calls_of("getUpdates"), timeout=60, what="polling to start")
        standin.message(standin.user(502), "When was the Collective Security Treaty signed?")
        replies = await standin.wait_for(lambda: standin.sent_to(502), timeout=30, what="an answer")
        assert "May 15, 1992" in replies[0].result["text"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    assert "First run: loading the bundled sample articles" in stderr.decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_webhook_mode_registers_the_hook_and_answers_updates_posted_to_it(
    corpus: Settings, standin: StandIn, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    env = serve_env(corpus, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=standin.base_url)
    process = await run_serve(
        env, tmp_path, "--webhook", url, "--listen", f"127.0.0.1:{port}", "--workers", "0"
    )
    try:
        await standin.wait_for(lambda: standin.webhook, timeout=60, what="setWebhook")
        assert standin.webhook["url"] == url
        secret = standin.webhook["secret_token"]
        user = standin.user(503)
        chat = standin.private_chat(user)
        update = {
            "update_id": 77,
            "message": {"message_id": 1, "from": user, "chat": chat, "date": 0, "text": "Where is Kyiv?"},
        }
        async with httpx.AsyncClient() as client:
            forged = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
            assert forged.status_code == 403
            posted = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
            assert posted.status_code == 200
        replies = await standin.wait_for(lambda: standin.sent_to(503), timeout=30, what="an answer")
        assert "Dnieper" in replies[0].result["text"]
        assert len(standin.sent_to(503)) == 1  # the forged update was not handled
        assert not standin.calls_of("getUpdates")

        # Updates users send from now on are delivered by the stand-in, as Telegram would.
        standin.message(standin.user(504), "Who founded Lviv?")
        replies = await standin.wait_for(lambda: standin.sent_to(504), timeout=30, what="a delivered answer")
        assert "Daniel" in replies[0].result["text"]
        assert [status for _, status in standin.delivered] == [200]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
