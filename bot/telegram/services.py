"""Everything the handlers use, in one object kept in ``application.bot_data``.

Answering is CPU-bound and synchronous, so :meth:`BotServices.answer` never runs it on the event
loop: in production it goes to worker processes (:mod:`bot.telegram.answer_pool`); with no pool
(tests with fake answerers, a one-core machine) it runs on a small thread pool of its own, so a
blocking journal read elsewhere cannot starve the answers of threads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from telegram.ext import ContextTypes

from bot.answer import Answer, Quote
from bot.telegram.answer_pool import AnswerPool
from bot.telegram.journal import Journal
from bot.telegram.keyboards import ButtonCodec
from bot.telegram.ratelimit import UserRateLimiter

SERVICES_KEY = "wikiqa"
# Questions are cut to this many characters (with a notice): BM25 gains nothing from more, and a
# bound keeps one user's paste from costing everyone else's latency.
MAX_QUESTION_CHARS = 1000
DEFAULT_EXAMPLES = ("When was the Collective Security Treaty signed?",)
HELP_EXAMPLES = 3


class AnswererLike(Protocol):
    def answer(self, question: str, *, page: int = 1) -> Answer: ...


class SnapshotSource(Protocol):
    """A source of the live snapshot (``retrieval.index.live.LiveSnapshot``)."""

    def current(self) -> Any: ...


class Reindexer(Protocol):
    """Builds a new snapshot and swaps it in; reports progress lines; returns a summary."""

    async def run(self, on_progress: Callable[[str], Awaitable[None]]) -> dict[str, Any]: ...


@dataclass
class BotServices:
    answerer: AnswererLike
    journal: Journal
    limiter: UserRateLimiter
    codec: ButtonCodec
    admin_ids: frozenset[int] = frozenset()
    snapshots: SnapshotSource | None = None
    reindexer: Reindexer | None = None
    inline_answerer: AnswererLike | None = None
    examples: tuple[str, ...] = DEFAULT_EXAMPLES
    max_question_chars: int = MAX_QUESTION_CHARS
    answer_threads: int = 4
    heartbeat: Path | None = None
    pool: AnswerPool | None = None
    reindex_running: bool = False
    executor: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        self.executor = ThreadPoolExecutor(self.answer_threads, thread_name_prefix="wikiqa-answer")

    async def answer(self, question: str, *, page: int = 1, inline: bool = False) -> Answer:
        if self.pool is not None:
            return await self.pool.answer(question, page=page, inline=inline)
        answerer = (self.inline_answerer or self.answerer) if inline else self.answerer
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: answerer.answer(question, page=page))

    async def inline_quotes(self, question: str, limit: int) -> list[Quote]:
        """Up to ``limit`` quotes for ``question``, gathering further pages if a page holds fewer."""
        quotes: list[Quote] = []
        page = 1
        while len(quotes) < limit:
            answer = await self.answer(question, page=page, inline=True)
            if answer.no_match and page == 1:
                return []
            quotes.extend(answer.quotes)
            if not answer.has_more or not answer.quotes:
                break
            page += 1
        return quotes[:limit]

    async def run_blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A blocking call that is not an answer (journal reads, snapshot info) off the loop."""
        return await asyncio.to_thread(fn, *args)

    def snapshot_info(self) -> Any | None:
        if self.snapshots is None:
            return None
        try:
            return self.snapshots.current().info
        except Exception:
            return None

    async def beat(self, every: float) -> None:
        """Touch the heartbeat file while the bot runs; the container healthcheck reads its age."""
        if self.heartbeat is None:
            return
        self.heartbeat.parent.mkdir(parents=True, exist_ok=True)
        while True:
            self.heartbeat.write_text(f"{time.time():.0f}\n")
            await asyncio.sleep(every)

    async def warm_up(self) -> None:
        """Load the snapshot (in every worker) before the first question arrives."""
        if self.pool is not None:
            await self.pool.warm_up()
        else:
            await self.answer("warm up")

    def help_examples(self) -> tuple[str, ...]:
        """Example questions about articles the snapshot holds (titles spread over the corpus);
        the configured examples when no snapshot is loaded. Blocking: run it off the loop."""
        if self.snapshots is None:
            return self.examples
        try:
            snapshot = self.snapshots.current()
            count = len(snapshot)
            titles: list[str] = []
            for i in range(HELP_EXAMPLES * 4):
                title = snapshot.passages.title((i * 7919) % count).strip()
                if title and title not in titles and len(title) <= 60:
                    titles.append(title)
                if len(titles) == HELP_EXAMPLES:
                    break
        except Exception:
            return self.examples
        return tuple(f"Tell me about {title}" for title in titles) or self.examples

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.journal.close()


def services_of(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.application.bot_data[SERVICES_KEY]
