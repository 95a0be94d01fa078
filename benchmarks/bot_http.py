"""CPU per sendMessage of the bot's HTTP client (python-telegram-bot over httpx) by pool size.

The bot spends most of its own CPU per answer in sending the reply; httpcore's connection pool
scans every connection (and counts the others for each idle one) whenever a request starts or ends,
so its size matters. This sends ``--requests`` answer-sized HTML messages with a keyboard, ``--in-flight``
at a time, to the Bot API stand-in running in another process, and reports this process's CPU time
per request for each pool size, in alternating rounds (compare rounds, not single figures, on a
shared machine).

Usage::

    .venv/bin/python benchmarks/bot_http.py                          # pools 4,8,16,32; 64 in flight
    .venv/bin/python benchmarks/bot_http.py --pools 8,32 --in-flight 8 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

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
    from tests.bot.telegram.standin import StandIn

    standin = await StandIn(TOKEN).start()
    for i in range(CHATS):
        standin.private_chat(standin.user(FIRST_CHAT + i))
    print(standin.port, flush=True)
    await asyncio.Event().wait()


async def measure(port: int, pool: int, requests: int, in_flight: int) -> float:
    """CPU milliseconds per sendMessage with a connection pool of ``pool``."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup
    from telegram.ext import AIORateLimiter, ExtBot
    from telegram.request import HTTPXRequest

    bot = ExtBot(
        TOKEN,
        base_url=f"http://127.0.0.1:{port}/bot",
        request=HTTPXRequest(connection_pool_size=pool, pool_timeout=30),
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

    await asyncio.gather(*(send(i) for i in range(200)))  # warm-up: connections, code paths
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
    parser.add_argument("--pools", default="4,8,16,32", help="connection pool sizes to compare")
    parser.add_argument("--in-flight", type=int, default=64, help="requests sent at once")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        print(f"{args.requests} sendMessage, {args.in_flight} in flight: CPU ms per request of this process")
        for round_ in range(1, args.rounds + 1):
            figures = [
                f"pool {pool}: {asyncio.run(measure(port, pool, args.requests, args.in_flight)):.2f}"
                for pool in map(int, args.pools.split(","))
            ]
            print(f"round {round_}: " + ", ".join(figures), flush=True)
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
