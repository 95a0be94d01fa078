"""The answer pool: worker processes answer exactly as an in-process Answerer does, errors come
back as exceptions, and a worker that dies is replaced without losing the question."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import psutil
import pytest

from bot.answer import Answerer
from bot.settings import Settings
from bot.telegram.answer_pool import AnswerPool
from retrieval.errors import SnapshotError
from retrieval.index.live import LiveSnapshot

QUESTIONS = [
    "When was the Collective Security Treaty signed?",
    "How long is the Dnieper?",
    "Who founded Lviv?",
    "What is borscht made of?",
    "Which is the highest peak of the Carpathians?",
    "qwxz zzyq",  # no match
]


@pytest.fixture
async def pool(corpus: Settings):
    pool = AnswerPool(corpus.snapshots_dir, workers=2)
    yield pool
    pool.close()


async def test_workers_answer_like_an_in_process_answerer(corpus: Settings, pool: AnswerPool) -> None:
    local = Answerer(LiveSnapshot(corpus.snapshots_dir))
    asked = [(q, page) for q in QUESTIONS for page in (1, 2)] * 3  # more than the workers hold at once
    answers = await asyncio.gather(*(pool.answer(q, page=page) for q, page in asked))
    for (question, page), answer in zip(asked, answers, strict=True):
        expected = local.answer(question, page=page)
        assert (answer.question, answer.page) == (question, page)
        assert answer.answer == expected.answer
        assert [q.text for q in answer.quotes] == [q.text for q in expected.quotes]
        assert answer.no_match == expected.no_match


async def test_inline_answers_carry_more_quotes(pool: AnswerPool) -> None:
    question = "Which city is the capital of Ukraine and Uzbekistan?"
    chat, inline = await asyncio.gather(pool.answer(question), pool.answer(question, inline=True))
    assert len(chat.quotes) == 3
    assert len(inline.quotes) > 3


def worker_processes() -> set[int]:
    """Pids of this process's answer workers (children started by multiprocessing's spawn)."""
    return {
        child.pid
        for child in psutil.Process().children()
        if child.is_running() and any("spawn_main" in part for part in child.cmdline())
    }


async def test_an_error_in_a_worker_is_raised_to_the_asker_and_the_worker_stays(tmp_path: Path) -> None:
    pool = AnswerPool(tmp_path / "no-snapshots", workers=1)
    try:
        with pytest.raises(SnapshotError):
            await pool.answer("anything")
        workers = worker_processes()
        with pytest.raises(SnapshotError):
            await pool.answer("anything else")
        assert worker_processes() == workers and len(workers) == 1
    finally:
        pool.close()


async def test_a_killed_worker_is_replaced_and_its_questions_answered(pool: AnswerPool) -> None:
    await pool.warm_up()
    victim = psutil.Process(min(worker_processes()))
    victim.kill()
    victim.wait(10)
    # Questions now go to the dead worker's pipe as well as the live one's: those are lost with it
    # and must be asked again of its replacement.
    answers = await asyncio.gather(*(pool.answer(q) for q in QUESTIONS * 4))
    assert [a.question for a in answers] == QUESTIONS * 4
    workers = worker_processes()
    assert victim.pid not in workers and len(workers) == 2


async def test_close_stops_the_workers(corpus: Settings) -> None:
    pool = AnswerPool(corpus.snapshots_dir, workers=2)
    await pool.warm_up()
    processes = [psutil.Process(pid) for pid in worker_processes()]
    assert len(processes) == 2
    pool.close()
    assert not any(process.is_running() and process.status() != psutil.STATUS_ZOMBIE for process in processes)
    with pytest.raises(RuntimeError):
        await pool.answer("after close")


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="the platform has no SCHED_BATCH")
async def test_workers_run_as_batch_work_so_they_do_not_preempt_the_event_loop(pool: AnswerPool) -> None:
    await pool.warm_up()
    workers = worker_processes()
    assert len(workers) == 2
    assert {os.sched_getscheduler(pid) for pid in workers} == {os.SCHED_BATCH}
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
