"""Answering in worker processes, so the event loop never waits for the GIL.

Answering is pure-Python CPU work. On a thread it holds the GIL for milliseconds at a time, and
the event loop, which releases the GIL on every socket call, then waits up to the interpreter's
switch interval to get it back on each one: replies queue behind answers and latency grows with
load. In worker processes the answers run on the other cores and the loop only pickles questions
and answers. Each worker opens the live snapshot itself (memory-mapped, so the pages are shared)
and follows reindexes on its own, exactly as an in-process ``Answerer`` would.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from bot.answer import Answer

log = logging.getLogger(__name__)

_answerers: dict[bool, Any] = {}


def _start_worker(snapshots_dir: str, quotes_per_page: int, inline_quotes: int) -> None:
    from bot.answer import Answerer
    from retrieval.snapshot import LiveSnapshot

    snapshots = LiveSnapshot(Path(snapshots_dir))
    _answerers[False] = Answerer(snapshots, quotes_per_page=quotes_per_page)
    _answerers[True] = Answerer(snapshots, quotes_per_page=inline_quotes)


def _answer(question: str, page: int, inline: bool) -> Answer:
    return _answerers[inline].answer(question, page=page)


class AnswerPool:
    """``workers`` processes answering from the snapshots in ``snapshots_dir``."""

    def __init__(
        self, snapshots_dir: Path, *, workers: int, quotes_per_page: int = 3, inline_quotes: int = 10
    ) -> None:
        self.workers = workers
        self._args = (str(snapshots_dir), quotes_per_page, inline_quotes)
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the bot process has threads (journal writer, answer pool manager).
        return ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=self._args,
        )

    async def answer(self, question: str, *, page: int = 1, inline: bool = False) -> Answer:
        loop = asyncio.get_running_loop()
        pool = self._pool
        try:
            return await loop.run_in_executor(pool, _answer, question, page, inline)
        except BrokenProcessPool:
            # A worker died (out of memory, killed): start a fresh pool once and retry.
            if pool is self._pool:
                log.error("an answer worker died; starting a new pool of %d", self.workers)
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
            return await loop.run_in_executor(self._pool, _answer, question, page, inline)

    async def warm_up(self) -> None:
        """Start every worker and load the snapshot in each before the first question."""
        await asyncio.gather(*(self.answer("warm up") for _ in range(self.workers * 2)))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
