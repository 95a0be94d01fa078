"""The journal: questions and votes land in the store's database, on every backend."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from bot.telegram.journal import WRITE_EVERY_SECONDS, Journal, QuestionRecord, percentile
from tests.bot.telegram.votes import stored_votes


def record(ref: str, latency: float, asked_at: datetime) -> QuestionRecord:
    return QuestionRecord(
        ref=ref,
        conversation_id=-1001234567890123,
        user_id=7_000_000_000,
        question="Wann? ' \" <x> & ✓",
        snapshot_version="v1",
        answer_shown="An answer.",
        quotes=3,
        no_match=False,
        latency_ms=latency,
        asked_at=asked_at,
    )


def test_questions_votes_and_stats_round_trip(store_url: str) -> None:
    journal = Journal(store_url)
    now = datetime.now(UTC)
    journal.record_question(record("AAAAAAAAAAA", 10.0, now - timedelta(days=2)))
    for i in range(1, 5):
        journal.record_question(record(f"BBBBBBBBBB{i}", 10.0 * i, now))
    journal.record_vote("BBBBBBBBBB1", 7, 1)
    journal.record_vote("BBBBBBBBBB1", 7, -1)  # a second vote replaces the first
    journal.record_vote("BBBBBBBBBB1", 8, 1)

    stats = journal.stats(now=now)
    assert (stats.questions_today, stats.questions_total) == (4, 5)
    assert (stats.thumbs_up, stats.thumbs_down) == (1, 1)
    assert stats.latency_p50_ms == 20.0 and stats.latency_p99_ms == 40.0
    assert stored_votes(journal, "BBBBBBBBBB1") == {7: -1, 8: 1}
    journal.close()

    fresh = Journal(store_url)  # another replica: nothing cached, read from the database
    assert fresh.question("BBBBBBBBBB2") == "Wann? ' \" <x> & ✓"
    assert fresh.question("CCCCCCCCCCC") is None
    fresh.close()


def test_percentile_by_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([float(i) for i in range(100)], 0.99) == 98.0


def test_records_reach_the_database_without_a_reader_asking(store_url: str) -> None:
    journal = Journal(store_url)
    journal.record_question(record("DDDDDDDDDDD", 5.0, datetime.now(UTC)))
    other = Journal(store_url)  # another replica sees only what the writer has committed
    deadline = time.monotonic() + 10 * WRITE_EVERY_SECONDS + 5
    while other.question("DDDDDDDDDDD") is None and time.monotonic() < deadline:
        time.sleep(WRITE_EVERY_SECONDS / 2)
    assert other.question("DDDDDDDDDDD") == "Wann? ' \" <x> & ✓"
    journal.close()
    other.close()
