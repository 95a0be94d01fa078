"""``wikiqa report`` and ``/report``: the journal's questions, refusals, votes and answer times,
the same on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from bot.cli import cli
from bot.report import build_report, format_report, parse_since, question_language
from retrieval.storage.journal import JournalTables, QuestionRecord, VoteRecord

NOW = datetime.now(UTC).replace(microsecond=0)


def _question(ref: str, question: str, *, days_ago: float, no_match: bool, latency: float, title: str | None):
    return QuestionRecord(
        ref=ref,
        conversation_id=1,
        user_id=1,
        question=question,
        snapshot_version="v",
        answer_shown=None if no_match else "line",
        quotes=0 if no_match else 3,
        no_match=no_match,
        latency_ms=latency,
        asked_at=NOW - timedelta(days=days_ago),
        first_title=title,
    )


def fill(url: str) -> None:
    """Ten questions this week (one more eight days ago), three refused, two rated 👎, one 👍."""
    rows = [
        _question("old", "What is old?", days_ago=8, no_match=False, latency=1, title="Old"),
        _question("q1", "When was the CSTO founded?", days_ago=2, no_match=False, latency=10, title="CSTO"),
        _question("q2", "Коли заснували Київ?", days_ago=2, no_match=False, latency=20, title="Kyiv"),
        _question("q3", "Когда основали Киев? Ы", days_ago=1, no_match=False, latency=30, title="Kyiv"),
        _question("q4", "how to bake bread", days_ago=1, no_match=True, latency=40, title=None),
        _question("q5", "How to  bake bread", days_ago=1, no_match=True, latency=50, title=None),
        _question("q6", "What is quantum gravity?", days_ago=0, no_match=True, latency=60, title=None),
        _question("q7", "Who founded Lviv?", days_ago=0, no_match=False, latency=70, title="Lviv"),
        _question("q8", "How long is the Dnipro?", days_ago=0, no_match=False, latency=80, title="Dnipro"),
        _question("q9", "Where is Tashkent?", days_ago=0, no_match=False, latency=90, title="Tashkent"),
        _question("q10", "What is borscht?", days_ago=0, no_match=False, latency=1000, title="Borscht"),
    ]
    votes = [
        VoteRecord("q1", 1, 1, NOW),
        VoteRecord("q7", 1, -1, NOW),
        VoteRecord("q8", 1, -1, NOW),
        VoteRecord("q8", 2, -1, NOW),
    ]
    tables = JournalTables(url)
    tables.write(rows, votes)
    tables.close()


def test_the_report_counts_what_the_journal_holds(store_url: str) -> None:
    fill(store_url)
    tables = JournalTables(store_url)
    since = NOW - timedelta(days=7)
    report = build_report(tables.asked_since(since), since)
    tables.close()
    assert report.questions == 10
    assert sum(report.per_day.values()) == 10 and len(report.per_day) in (3, 4)
    assert report.languages == {"en": 8, "uk": 1, "ru": 1}
    assert (report.answered, report.refused, report.rated_up, report.rated_down) == (7, 3, 1, 2)
    assert report.latency_p50_ms == 50.0 and report.latency_p99_ms == 1000.0
    assert report.most_refused[0] == ("how to bake bread", 2)
    assert set(report.rated_down_answers) == {
        ("Who founded Lviv?", "Lviv"),
        ("How long is the Dnipro?", "Dnipro"),
    }
    text_report = format_report(report)
    assert "refused 30%" in text_report and "2× how to bake bread" in text_report


def test_wikiqa_report_prints_json_and_text(sqlite_url: str, tmp_path, monkeypatch) -> None:
    fill(sqlite_url)
    monkeypatch.setenv("WIKIQA_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(cli, ["report", "--database", sqlite_url, "--since", "7d", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["questions"] == 10 and payload["refused"] == 0.3 and payload["rated_down"] == 0.2
    assert payload["latency_ms"] == {"p50": 50.0, "p99": 1000.0}
    assert payload["rated_down_answers"][0]["first_title"] in {"Lviv", "Dnipro"}
    wider = CliRunner().invoke(cli, ["report", "--database", sqlite_url, "--since", "2w"])
    assert wider.exit_code == 0 and "11 questions" in wider.stdout
    bad = CliRunner().invoke(cli, ["report", "--database", sqlite_url, "--since", "soon"])
    assert bad.exit_code == 2 and "7d" in bad.output


def test_an_older_journal_gets_the_first_title_column(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bot_question (id INTEGER PRIMARY KEY, ref VARCHAR(16) UNIQUE NOT NULL, "
                "asked_at DATETIME NOT NULL, chat_id BIGINT NOT NULL, user_id BIGINT NOT NULL, "
                "question TEXT NOT NULL, snapshot_version VARCHAR(64) NOT NULL, answer_shown TEXT, "
                "quotes INTEGER NOT NULL, no_match BOOLEAN NOT NULL, latency_ms FLOAT NOT NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO bot_question (ref, asked_at, chat_id, user_id, question, snapshot_version, "
                "quotes, no_match, latency_ms) VALUES ('r0', :at, 1, 1, 'Old question?', 'v', 0, 1, 5)"
            ),
            {"at": NOW},
        )
    engine.dispose()
    fill(sqlite_url)
    tables = JournalTables(sqlite_url)
    rows = list(tables.asked_since(NOW - timedelta(days=30)))
    tables.close()
    assert len(rows) == 12 and any(r.question == "Old question?" and r.first_title is None for r in rows)


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Who founded Lviv?", "en"),
        ("Хто заснував Львів?", "uk"),
        ("Кто основал Львов? ы", "ru"),
        ("Кто основал Львов?", "ru"),  # by its words, as wikiqa eval tells it
        ("Москва", "cyrillic"),
        ("42?", "other"),
    ],
)
def test_languages_are_told_by_their_letters(question: str, language: str) -> None:
    assert question_language(question) == language


def test_periods_are_days_hours_or_weeks() -> None:
    assert parse_since("24h", NOW) == NOW - timedelta(hours=24)
    assert parse_since("2w", NOW) == NOW - timedelta(days=14)
    with pytest.raises(ValueError):
        parse_since("yesterday", NOW)
