"""Answers per second and reply latency of the Telegram bot, over real HTTP, at 100k passages.

The bot runs as its own process (the Application that ``wikiqa serve`` builds, with Telegram's
30 messages/s flood ceiling lifted, as against a local Bot API server, and the per-user limit off:
100 users asking 2 questions a second each would trip the default 20 a minute). This process runs
the Bot API stand-in from the test suite and 100 simulated users. Latency is from the moment a
question is queued at the stand-in to the moment the stand-in receives the answer's last message
(the one with the keyboard): getUpdates, answering, rendering and sendMessage all included.

Phases, each with and without an admin ``/reindex`` running (the reindex phase lasts as long as
the rebuild of the 100k-passage snapshot takes):

- open loop: the 100 users together ask at a fixed rate (default 200 questions/s);
- closed loop: each user asks again as soon as it is answered (the bot's ceiling).

Usage::

    .venv/bin/python benchmarks/bot.py                      # 100k passages, 200 questions/s
    .venv/bin/python benchmarks/bot.py --passages 10000 --rate 300 --seconds 10

The synthetic corpus comes from benchmarks/search.py's generator and is cached in --workdir.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import search as search_benchmark  # noqa: E402  (its seeded corpus generator)

TOKEN = "700000001:AAF-benchmark-token-not-secret"
ADMIN_ID = 1
USERS = 100
FIRST_USER = 10_000


def prepare(workdir: Path, passages: int) -> tuple[Path, Path]:
    """The store (a copy of the cached synthetic corpus) and a home with its snapshot built."""
    from retrieval.snapshot import build_snapshot, current_version
    from retrieval.store import ArticleStore

    bench = search_benchmark
    workdir.mkdir(parents=True, exist_ok=True)
    corpus = workdir / f"corpus-{passages}.db"
    if not corpus.exists():
        print(f"generating a corpus of {passages:,} passages ...", file=sys.stderr, flush=True)
        bench.make_corpus(passages, corpus)
    store = workdir / f"bot-store-{passages}.db"
    home = workdir / f"bot-home-{passages}"
    if not store.exists():
        shutil.copyfile(corpus, store)
    if current_version(home / "snapshots") is None:
        print("building the snapshot ...", file=sys.stderr, flush=True)
        articles = ArticleStore(f"sqlite:///{store}")
        build_snapshot(articles, home / "snapshots", source_url="https://example.org/{article_id}")
        articles.close()
    return store, home


def bot_child() -> None:
    """The bot process: the production services and Application, flood ceiling lifted."""
    import logging

    from bot.settings import load_settings
    from bot.telegram.app import build_application, services_from_settings

    logging.basicConfig(level=logging.WARNING, format="bot: %(levelname)s %(name)s: %(message)s")
    settings = load_settings(dotenv=False)
    services = services_from_settings(settings, TOKEN)
    application = build_application(
        services, token=TOKEN, api_base_url=settings.telegram_api_base_url, overall_max_rate=0
    )
    application.run_polling(timeout=timedelta(seconds=10))


class Load:
    """The simulated users: queue questions at the stand-in, match answers, keep latencies."""

    def __init__(self, standin, questions: list[str]) -> None:
        self.standin = standin
        self.questions = questions
        self.users = [standin.user(FIRST_USER + i) for i in range(USERS)]
        self.pending: dict[int, collections.deque[float]] = collections.defaultdict(collections.deque)
        self.latencies: list[float] = []
        self.failed = 0
        self.sent = 0
        self.lost = 0
        self.answered = asyncio.Event()
        self.reindex_done = asyncio.Event()
        self.next_question = 0
        standin.on_call = self.on_call

    def ask(self, user: dict) -> None:
        question = self.questions[self.next_question % len(self.questions)]
        self.next_question += 1
        self.pending[user["id"]].append(time.perf_counter())
        self.sent += 1
        self.standin.message(user, question)

    def on_call(self, call) -> None:
        if call.method == "editMessageText" and call.result and "Reindex done" in call.result["text"]:
            self.reindex_done.set()
        if call.method != "sendMessage" or call.status != 200:
            return
        chat = call.params.get("chat_id")
        if "went wrong" in call.params.get("text", ""):
            self.failed += 1
        if chat in self.pending and "reply_markup" in call.result and self.pending[chat]:
            self.latencies.append(time.perf_counter() - self.pending[chat].popleft())
            self.answered.set()

    def outstanding(self) -> int:
        return sum(len(q) for q in self.pending.values())

    def reset(self) -> None:
        self.latencies, self.failed, self.sent, self.lost = [], 0, 0, 0

    async def drain(self, timeout: float = 120.0) -> None:
        """Wait for the answers still due; what has not come by ``timeout`` counts as lost."""
        deadline = time.perf_counter() + timeout
        while self.outstanding() and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        self.lost = self.outstanding()
        self.pending.clear()

    async def open_loop(self, rate: float, seconds: float, until: asyncio.Event | None = None) -> float:
        """Ask ``rate`` questions/s round-robin over the users; returns the elapsed seconds."""
        started = time.perf_counter()
        n = 0
        while True:
            elapsed = time.perf_counter() - started
            if (until is None and elapsed >= seconds) or (until is not None and until.is_set()):
                break
            due = int(elapsed * rate) + 1
            while n < due:
                self.ask(self.users[n % USERS])
                n += 1
            await asyncio.sleep(1 / rate)
        await self.drain()
        return time.perf_counter() - started

    async def closed_loop(self, seconds: float, until: asyncio.Event | None = None) -> float:
        """Every user asks again as soon as its previous question is answered."""
        started = time.perf_counter()
        for user in self.users:
            self.ask(user)
        while True:
            elapsed = time.perf_counter() - started
            if (until is None and elapsed >= seconds) or (until is not None and until.is_set()):
                break
            self.answered.clear()
            for user in self.users:
                if not self.pending[user["id"]]:
                    self.ask(user)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.answered.wait(), 1.0)
        await self.drain()
        return time.perf_counter() - started


class CpuMeter:
    """CPU seconds used by the bot process and by this one (stand-in + users) during a phase."""

    def __init__(self, bot_pid: int) -> None:
        import psutil

        self.bot = psutil.Process(bot_pid)
        self.own = psutil.Process()
        self.start = self._now()

    @staticmethod
    def _cpu(process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    def _now(self) -> dict[str, float]:
        """CPU seconds so far: the bot with its answer workers and reindex processes; this process alone."""
        bot = self._cpu(self.bot)
        for child in self.bot.children(recursive=True):
            with contextlib.suppress(Exception):
                bot += self._cpu(child)
        return {"bot": bot, "standin": self._cpu(self.own)}

    def lap(self, seconds: float) -> str:
        now = self._now()
        shares = {name: (now[name] - self.start[name]) / seconds for name in now}
        self.start = now
        return f"bot {shares['bot']:.0%}, stand-in + users {shares['standin']:.0%}"


def summary(label: str, load: Load, seconds: float, cpu: CpuMeter) -> dict:
    ms = np.asarray(load.latencies) * 1000
    row = {
        "phase": label,
        "asked": load.sent,
        "answered": len(load.latencies),
        "failed": load.failed + load.lost,
        "answers_per_s": round(len(load.latencies) / seconds, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
        "p99_ms": round(float(np.percentile(ms, 99)), 1) if len(ms) else None,
        "seconds": round(seconds, 1),
        "cpu": cpu.lap(seconds),
    }
    print(
        f"| {label} | {row['asked']} | {row['answered']} | {row['failed']} | {row['answers_per_s']} "
        f"| {row['p50_ms']} | {row['p99_ms']} | {row['seconds']} | {row['cpu']} |",
        flush=True,
    )
    return row


async def run(args: argparse.Namespace) -> None:
    from tests.bot.telegram.standin import StandIn

    store, home = prepare(args.workdir, args.passages)
    questions = search_benchmark.make_questions(2000)
    standin = await StandIn(TOKEN).start()
    env = {
        **os.environ,
        "WIKIQA_HOME": str(home),
        "WIKIQA_DATABASE_URL": f"sqlite:///{store}",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": standin.base_url,
        "WIKIQA_ADMIN_IDS": str(ADMIN_ID),
        "WIKIQA_RATE_LIMIT": "0",
    }
    bot = subprocess.Popen([sys.executable, __file__, "--bot-child"], env=env, cwd=args.workdir)
    try:
        await standin.wait_for(lambda: standin.calls_of("getUpdates"), timeout=120, what="the bot to poll")
        load = Load(standin, questions)
        await load.open_loop(50, 3)  # warm-up: snapshot pages, connections, code paths
        load.reset()
        print(f"{args.passages:,} passages, {USERS} users, bot in its own process, 2 cores shared")
        print("| phase | asked | answered | failed | answers/s | p50 ms | p99 ms | s | CPU (of one core) |")
        print("|---|---|---|---|---|---|---|---|---|")
        cpu = CpuMeter(bot.pid)
        rows = [
            summary(f"open loop {args.rate:g}/s", load, await load.open_loop(args.rate, args.seconds), cpu)
        ]
        load.reset()
        rows.append(summary("closed loop", load, await load.closed_loop(args.seconds), cpu))
        for mode in ("open", "closed"):
            load.reset()
            load.reindex_done.clear()
            admin = standin.user(ADMIN_ID)
            standin.message(admin, "/reindex")
            if mode == "open":
                seconds = await load.open_loop(args.rate, 0, until=load.reindex_done)
                label = f"open loop {args.rate:g}/s during /reindex"
            else:
                seconds = await load.closed_loop(0, until=load.reindex_done)
                label = "closed loop during /reindex"
            rows.append(summary(label, load, seconds, cpu))
    finally:
        bot.send_signal(signal.SIGTERM)
        bot.wait(30)
        await standin.stop()


def main() -> None:
    if "--bot-child" in sys.argv:
        bot_child()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200.0, help="questions/s in the open-loop phases")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the phases without reindex")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/wikiqa-bench-bot"))
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
