"""The answer pool: worker processes answer exactly as an in-process Answerer does, errors come
back as exceptions, and a worker that dies is replaced without losing the question."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

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


async def test_an_error_in_a_worker_is_raised_to_the_asker_and_the_worker_stays(tmp_path: Path) -> None:
    pool = AnswerPool(tmp_path / "no-snapshots", workers=1)
    try:
        with pytest.raises(SnapshotError):
            await pool.answer("anything")
        pid = pool._pool[0].process.pid
        with pytest.raises(SnapshotError):
            await pool.answer("anything else")
        assert pool._pool[0].process.pid == pid
    finally:
        pool.close()


async def test_a_killed_worker_is_replaced_and_its_questions_answered(pool: AnswerPool) -> None:
    await pool.warm_up()
    victim = pool._pool[0].process
    asked = [asyncio.ensure_future(pool.answer(q)) for q in QUESTIONS * 4]
    await asyncio.sleep(0)  # the first questions are now in the workers' pipes
    assert pool._pool[0].waiting
    os.kill(victim.pid, signal.SIGKILL)
    answers = await asyncio.gather(*asked)
    assert [a.question for a in answers] == QUESTIONS * 4
    assert victim not in [worker.process for worker in pool._pool]
    assert all(worker.process.is_alive() for worker in pool._pool)


async def test_close_stops_the_workers(corpus: Settings) -> None:
    pool = AnswerPool(corpus.snapshots_dir, workers=2)
    await pool.warm_up()
    processes = [worker.process for worker in pool._pool]
    pool.close()
    assert not any(process.is_alive() for process in processes)
    with pytest.raises(RuntimeError):
        await pool.answer("after close")
