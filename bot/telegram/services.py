"""Everything the handlers use, in one object kept in ``application.bot_data``.

:class:`BotServices` gathers a few parts, each with one job: answering questions off the event
loop (:class:`LocalAnswers` here, or :class:`~bot.telegram.answer_pool.AnswerPool`'s worker
processes in production), facts about the corpus for /about and /help (:class:`CorpusFacts`), the
admin commands' state (:class:`AdminTools`), and the journal, rate limiter and button codec.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from telegram.ext import ContextTypes

from bot.answer import WARM_UP_QUESTIONS, Answer, Quote
from bot.conversation import Context, ContextStore
from bot.examples import example_questions
from bot.telegram.journal import Journal
from bot.telegram.keyboards import ButtonCodec
from bot.telegram.ratelimit import UserRateLimiter

if TYPE_CHECKING:
    from retrieval.index.reader import SnapshotInfo

SERVICES_KEY = "wikiqa"
DEFAULT_EXAMPLES = ("When was the Collective Security Treaty signed?",)
HELP_EXAMPLES = 3
# Quotes per page of an inline answer: Telegram shows up to 50 results, people read about ten.
INLINE_QUOTES = 10


class AnswererLike(Protocol):
    def answer(
        self, question: str, *, page: int = 1, k: int | None = None, context: Context | None = None
    ) -> Answer: ...


class Answers(Protocol):
    """Questions answered without blocking the event loop; ``context`` is the conversation's
    (``bot.conversation``), for a follow-up."""

    async def answer(
        self, question: str, *, page: int = 1, inline: bool = False, context: Context | None = None
    ) -> Answer: ...
    async def warm_up(self) -> None: ...
    def close(self) -> None: ...


class SnapshotSource(Protocol):
    """A source of the live snapshot (``retrieval.index.live.LiveSnapshot``)."""

    def current(self) -> Any: ...


class Reindexer(Protocol):
    """Builds a new snapshot and swaps it in; reports progress lines; returns a summary."""

    async def run(self, on_progress: Callable[[str], Awaitable[None]]) -> dict[str, Any]: ...


class LocalAnswers:
    """Answers on a small thread pool of this process, for when there are no worker processes
    (one core, tests with fake answerers). A pool of its own, so a blocking journal read elsewhere
    cannot starve the answers of threads."""

    def __init__(self, answerer: AnswererLike, *, threads: int = 4) -> None:
        self.answerer = answerer
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="wikiqa-answer")

    async def answer(
        self, question: str, *, page: int = 1, inline: bool = False, context: Context | None = None
    ) -> Answer:
        k = INLINE_QUOTES if inline else None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, lambda: self.answerer.answer(question, page=page, k=k, context=context)
        )

    async def warm_up(self) -> None:
        """Load the snapshot (and the model) before the first question arrives."""
        for question in WARM_UP_QUESTIONS:
            await self.answer(question)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class CorpusFacts:
    """What the bot says about its corpus (/about, /help, /stats), from the live snapshot.
    Blocking (a snapshot may need loading): run its methods off the event loop."""

    def __init__(
        self, snapshots: SnapshotSource | None, examples: tuple[str, ...] = DEFAULT_EXAMPLES
    ) -> None:
        self.snapshots = snapshots
        self.examples = examples

    def snapshot_info(self) -> SnapshotInfo | None:
        if self.snapshots is None:
            return None
        try:
            return self.snapshots.current().info
        except Exception:
            return None

    def help_examples(self) -> tuple[str, ...]:
        """Example questions about articles the snapshot holds, spread over the corpus and asked
        as a person would ("What is the Shanghai Cooperation Organisation?"); the configured
        examples when no snapshot is loaded."""
        if self.snapshots is None:
            return self.examples
        try:
            found = example_questions(self.snapshots.current(), HELP_EXAMPLES)
        except Exception:
            return self.examples
        return found or self.examples


@dataclass
class AdminTools:
    """Who may use /reindex and /stats, how a reindex is run, and whether one is running."""

    ids: frozenset[int] = frozenset()
    reindexer: Reindexer | None = None
    running: bool = False

    def allows(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.ids


@dataclass
class BotServices:
    answers: Answers
    corpus: CorpusFacts
    admin: AdminTools
    journal: Journal
    limiter: UserRateLimiter
    codec: ButtonCodec
    heartbeat: Path | None = None
    # What each conversation's next question may lean on: a private chat's by ("user", id), a
    # group's by the bot message a reply answers, a "More" by its answer's ref.
    contexts: ContextStore = field(default_factory=ContextStore)

    async def inline_quotes(self, question: str, limit: int) -> list[Quote]:
        """Up to ``limit`` quotes for ``question``, gathering further pages if a page holds fewer."""
        quotes: list[Quote] = []
        page = 1
        while len(quotes) < limit:
            answer = await self.answers.answer(question, page=page, inline=True)
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

    async def beat(self, every: float) -> None:
        """Touch the heartbeat file while the bot runs; the container healthcheck reads its age."""
        if self.heartbeat is None:
            return
        self.heartbeat.parent.mkdir(parents=True, exist_ok=True)
        while True:
            self.heartbeat.write_text(f"{time.time():.0f}\n")
            await asyncio.sleep(every)

    def close(self) -> None:
        self.answers.close()
        self.journal.close()


def services_of(context: ContextTypes.DEFAULT_TYPE) -> BotServices:
    return context.application.bot_data[SERVICES_KEY]
