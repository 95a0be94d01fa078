"""CPU per sendMessage of the bot's HTTP client, against python-telegram-bot's stock one.

The bot spends most of its own CPU per answer in sending the reply. This sends ``--requests``
answer-sized HTML messages with a keyboard, ``--in-flight`` at a time, to the Bot API stand-in
running in another process, through python-telegram-bot's ``ExtBot`` with each client in turn:

- ``bot``: the bot's own (:class:`bot.telegram.api_request.BotApiRequest`: ``HTTPXRequest``
  telling how a request failed), with python-telegram-bot's defaults;
- ``httpx``: python-telegram-bot's ``HTTPXRequest`` as it comes;
- ``none``: no network at all, every call answered with a stored reply: what python-telegram-bot
  itself costs (building the request, parsing the reply into a ``Message``).

It reports this process's CPU time per request, in alternating rounds (compare rounds, not single
figures, on a shared machine).

Usage::

    .venv/bin/python benchmarks/bot_http.py                          # 64 in flight, 2 rounds
    .venv/bin/python benchmarks/bot_http.py --in-flight 4 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from telegram.request import BaseRequest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "700000001:AAF-benchmark-token-not-secret"
CHATS = 1000
FIRST_CHAT = 10_000
# About the size and markup of a real answer at 100k passages: ~1.4 kB of HTML, ~7 entities.
TEXT = (
    '💡 <b>The treaty was signed in 1992.</b>\n\n📖 <a href="https://example.org/a">Title</a>\n<blockquote>'
    + "some <b>matched</b> words " * 5
    + "plain words of the passage " * 45
    + "</blockquote>"
)


async def serve() -> None:
    """The stand-in in this child process; prints its port, serves until killed."""
    from testing.bot_api_standin import StandIn

    standin = await StandIn(TOKEN).start()
    for i in range(CHATS):
        standin.private_chat(standin.user(FIRST_CHAT + i))
    print(standin.port, flush=True)
    await asyncio.Event().wait()


class StoredReply(BaseRequest):
    """No network: each call gets the reply the stand-in gave to a call of the same method."""

    def __init__(self, replies: dict[str, bytes]) -> None:
        self.replies = replies

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data=None, **_timeouts) -> tuple[int, bytes]:
        if request_data is not None:
            _ = request_data.json_payload  # the encoding a real client does too
        return 200, self.replies[url.rpartition("/")[2]]


def clients(port: int) -> dict[str, Callable[[], BaseRequest]]:
    from telegram.request import HTTPXRequest

    from bot.telegram.api_request import BotApiRequest

    replies = {}
    for method, params in (("getMe", {}), ("sendMessage", {"chat_id": FIRST_CHAT, "text": TEXT})):
        sample = urllib.request.Request(
            f"http://127.0.0.1:{port}/bot{TOKEN}/{method}",
            data=json.dumps(params).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(sample) as response:
            replies[method] = response.read()
    return {
        "bot": lambda: BotApiRequest(),
        "httpx": lambda: HTTPXRequest(),
        "none": lambda: StoredReply(replies),
    }


async def measure(port: int, client: BaseRequest, requests: int, in_flight: int) -> float:
    """CPU milliseconds per sendMessage through ``client``."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup
    from telegram.ext import AIORateLimiter, ExtBot

    bot = ExtBot(
        TOKEN,
        base_url=f"http://127.0.0.1:{port}/bot",
        request=client,
        rate_limiter=AIORateLimiter(overall_max_rate=0, max_retries=3),
    )
    await bot.initialize()
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("More ▸", callback_data="m:AAAAAAAAAAA:2:AAAAAAAA")],
            [
                InlineKeyboardButton("👍", callback_data="u:AAAAAAAAAAA:1:AAAAAAAA"),
                InlineKeyboardButton("👎", callback_data="d:AAAAAAAAAAA:1:AAAAAAAA"),
            ],
        ]
    )
    gate = asyncio.Semaphore(in_flight)

    async def send(i: int) -> None:
        async with gate:
            await bot.send_message(FIRST_CHAT + i % CHATS, TEXT, parse_mode="HTML", reply_markup=keyboard)

    await asyncio.gather(*(send(i) for i in range(min(200, requests))))  # warm-up: connections, code paths
    started = time.process_time()
    await asyncio.gather(*(send(i) for i in range(requests)))
    cpu = time.process_time() - started
    await bot.shutdown()
    return cpu / requests * 1000


def main() -> None:
    if "--serve" in sys.argv:
        asyncio.run(serve())
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--in-flight", type=int, default=64, help="requests sent at once")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        makers = clients(port)
        print(f"{args.requests} sendMessage, {args.in_flight} in flight: CPU ms per request of this process")
        for round_ in range(1, args.rounds + 1):
            figures = [
                f"{name} {asyncio.run(measure(port, make(), args.requests, args.in_flight)):.2f}"
                for name, make in makers.items()
            ]
            print(f"round {round_}: " + ", ".join(figures), flush=True)
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
