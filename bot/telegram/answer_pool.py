"""Answering in worker processes, so the event loop never waits for the GIL.

Answering is pure-Python CPU work. On a thread it holds the GIL for milliseconds at a time, and
the event loop, which releases the GIL on every socket call, then waits up to the interpreter's
switch interval to get it back on each one: replies queue behind answers and latency grows with
load. In worker processes the answers run on the other cores and the loop only pickles questions
and answers. Each worker opens the live snapshot itself (memory-mapped, so the pages are shared)
and follows reindexes on its own, exactly as an in-process ``Answerer`` would.

The pool talks to each worker over one pipe that the event loop watches itself (``add_reader``),
rather than through ``concurrent.futures.ProcessPoolExecutor``: the executor moves every call
through a manager thread and a queue-feeder thread in the bot process, and each hand-over between
those threads and the loop costs a wake-up and a GIL switch. On two busy cores that bookkeeping
cost about as much CPU per answer as rendering and sending the reply.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import multiprocessing
import os
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bot.answer import WARM_UP_QUESTIONS, Answer
from bot.conversation import Context
from bot.telegram.services import INLINE_QUOTES
from retrieval.long_lived import freeze_long_lived

log = logging.getLogger(__name__)

# Questions sent to a worker before its earlier ones are answered: one to work on and one waiting
# in the pipe, so a worker never idles between answers, while the rest wait in the pool's own
# queue and go to whichever worker frees up first.
IN_FLIGHT_PER_WORKER = 2
STOP_SECONDS = 2.0
_Request = tuple[str, int, bool, "Context | None"]  # question, page, inline, conversation context


class WorkerDied(RuntimeError):
    """An answer worker exited (killed, out of memory) before it answered."""


# ----------------------------------------------------------------------------- the worker process
def _worker_main(conn: Connection, snapshots_dir: str, quotes_per_page: int, inline_quotes: int) -> None:
    """Answer ``(question, page, inline, context)`` requests from ``conn`` until it closes or sends
    None (``context``: the conversation's :class:`~bot.conversation.Context`, or None)."""
    from bot.answer import Answerer
    from retrieval.index.live import LiveSnapshot

    _schedule_as_batch_work()
    # One answerer for chat and inline answers (inline ones ask for more quotes per page), so both
    # share one searcher's caches.
    answerer = Answerer(LiveSnapshot(Path(snapshots_dir)), quotes_per_page=quotes_per_page)
    frozen = False
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        question, page, inline, context = request
        try:
            k = inline_quotes if inline else None
            reply: tuple[bool, Any] = (True, answerer.answer(question, page=page, k=k, context=context))
        except Exception as err:  # the caller re-raises it; the worker stays up
            reply = (False, err)
        if not frozen and reply[0]:
            # The first answer loaded the snapshot and the search kernel: see freeze_long_lived.
            freeze_long_lived()
            frozen = True
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return
        except Exception as err:  # an exception that cannot be pickled
            conn.send((False, RuntimeError(f"{type(err).__name__}: {err}")))


def _schedule_as_batch_work() -> None:
    """Tell the kernel this process is batch work (Linux's ``SCHED_BATCH``; elsewhere, nothing).

    A worker woken by a question would otherwise preempt the event loop that woke it, in the
    middle of the loop's own writes, so replies already answered waited out a slice of the
    worker's answer. Batch work never preempts on waking; it still gets its full share of the CPU
    and still runs at once on an idle core. Measured back to back in the bot benchmark at 200
    questions/s, it lowered reply latency and the CPU per answer (fewer context switches).
    """
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None:
        return
    with contextlib.suppress(OSError):
        os.sched_setscheduler(0, policy, os.sched_param(0))


# ----------------------------------------------------------------------------- the bot side
@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Connection
    waiting: collections.deque[asyncio.Future] = field(default_factory=collections.deque)
    loop: asyncio.AbstractEventLoop | None = None


class AnswerPool:
    """``workers`` processes answering from the snapshots in ``snapshots_dir``."""

    def __init__(
        self,
        snapshots_dir: Path,
        *,
        workers: int,
        quotes_per_page: int = 3,
        inline_quotes: int = INLINE_QUOTES,
    ) -> None:
        if workers < 1:
            raise ValueError("an answer pool needs at least one worker")
        self.workers = workers
        self._args = (str(snapshots_dir), quotes_per_page, inline_quotes)
        # spawn, not fork: the bot process has threads (the journal writer).
        self._context = multiprocessing.get_context("spawn")
        self._pool = [self._start_worker() for _ in range(workers)]
        self._queue: collections.deque[tuple[_Request, asyncio.Future]] = collections.deque()
        self._closed = False

    def _start_worker(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main, args=(theirs, *self._args), name="wikiqa-answer", daemon=True
        )
        process.start()
        theirs.close()
        return _Worker(process, ours)

    async def answer(
        self, question: str, *, page: int = 1, inline: bool = False, context: Context | None = None
    ) -> Answer:
        try:
            return await self._submit((question, page, inline, context))
        except WorkerDied:
            # The worker was replaced; try once more on the new one (or another).
            return await self._submit((question, page, inline, context))

    async def warm_up(self) -> None:
        """Start every worker and load the snapshot (and the model) in each before the first question."""
        rounds = range(self.workers * IN_FLIGHT_PER_WORKER)
        await asyncio.gather(*(self.answer(question) for question in WARM_UP_QUESTIONS for _ in rounds))

    def close(self) -> None:
        """Stop the workers (they finish the answer in hand) and fail whatever still waits."""
        self._closed = True
        for worker in self._pool:
            self._detach(worker)
            with contextlib.suppress(OSError, ValueError):  # already gone
                worker.conn.send(None)
            worker.conn.close()
        for worker in self._pool:
            worker.process.join(STOP_SECONDS)
            if worker.process.is_alive():
                worker.process.terminate()
            self._fail(worker.waiting, WorkerDied("the answer pool was closed"))
        self._fail((future for _, future in self._queue), WorkerDied("the answer pool was closed"))
        self._queue.clear()

    # ----------------------------------------------------------------- dispatching
    def _submit(self, request: _Request) -> asyncio.Future:
        if self._closed:
            raise RuntimeError("the answer pool is closed")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append((request, future))
        self._dispatch(loop)
        return future

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hand queued questions to the least busy workers that have room."""
        while self._queue:
            worker = min(self._pool, key=lambda w: len(w.waiting))
            if len(worker.waiting) >= IN_FLIGHT_PER_WORKER:
                return
            request, future = self._queue.popleft()
            if future.done():  # the asker gave up (cancelled)
                continue
            self._attach(worker, loop)
            try:
                worker.conn.send(request)
            except (OSError, ValueError):
                self._queue.appendleft((request, future))
                self._replace(worker)
                continue
            worker.waiting.append(future)

    def _attach(self, worker: _Worker, loop: asyncio.AbstractEventLoop) -> None:
        if worker.loop is not loop:
            self._detach(worker)
            loop.add_reader(worker.conn.fileno(), self._on_reply, worker)
            worker.loop = loop

    def _detach(self, worker: _Worker) -> None:
        if worker.loop is not None and not worker.loop.is_closed():
            worker.loop.remove_reader(worker.conn.fileno())
        worker.loop = None

    def _on_reply(self, worker: _Worker) -> None:
        """The loop saw the worker's pipe readable: an answer, or the worker's end."""
        loop = worker.loop
        try:
            ok, value = worker.conn.recv()
        except (EOFError, OSError):
            self._replace(worker)
        else:
            future = worker.waiting.popleft()
            if not future.done():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        if loop is not None:
            self._dispatch(loop)

    def _replace(self, worker: _Worker) -> None:
        """A worker died: start another in its place and fail what it had in hand."""
        self._detach(worker)
        worker.conn.close()
        if worker.process.is_alive():  # its pipe broke but it still runs: make sure it ends
            worker.process.terminate()
        worker.process.join(STOP_SECONDS)
        log.error("an answer worker died (exit code %s); starting a new one", worker.process.exitcode)
        self._pool[self._pool.index(worker)] = self._start_worker()
        self._fail(worker.waiting, WorkerDied("an answer worker died"))

    @staticmethod
    def _fail(futures: Any, error: Exception) -> None:
        for future in list(futures):
            if not future.done():
                future.set_exception(error)
