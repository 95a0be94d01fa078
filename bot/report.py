"""What the journal says about the bot's answers: ``wikiqa report`` and the admin's ``/report``.

Questions per day and by language, the share answered, refused and rated 👍 / 👎, answer time,
the questions most often refused and the answers rated 👎, from the journal tables on any of the
store's databases (:meth:`~retrieval.storage.journal.JournalTables.asked_since`). The figures are
computed here, in Python, so that SQLite, MariaDB and PostgreSQL give the same report.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from retrieval.search.evaluate import percentile
from retrieval.semantic.language import language
from retrieval.storage.journal import AskedRow

# Questions listed among the most refused, and answers among those rated 👎.
TOP_LISTED = 10
_DURATION = re.compile(r"^(\d+)([dhw])$")


def question_language(question: str) -> str:
    """The language ``wikiqa eval`` reports too (``retrieval.semantic.language``: ``"en"``,
    ``"uk"``, ``"ru"``, ``"cyrillic"``), or ``"other"`` for a message without letters."""
    return language(question) if any(c.isalpha() for c in question) else "other"


def parse_since(text: str, now: datetime) -> datetime:
    """``7d``, ``24h`` or ``2w`` before ``now``."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not a period such as 7d, 24h or 2w")
    amount, unit = int(found[1]), found[2]
    return (
        now - {"d": timedelta(days=amount), "h": timedelta(hours=amount), "w": timedelta(weeks=amount)}[unit]
    )


@dataclass(frozen=True)
class Report:
    since: datetime
    questions: int
    per_day: dict[date, int]
    languages: dict[str, int]
    answered: int
    refused: int
    rated_up: int
    rated_down: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    most_refused: list[tuple[str, int]]
    rated_down_answers: list[tuple[str, str | None]]  # question, first quote's title

    def share(self, count: int) -> float:
        return count / self.questions if self.questions else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "questions": self.questions,
            "per_day": {day.isoformat(): n for day, n in sorted(self.per_day.items())},
            "languages": dict(self.languages),
            "answered": round(self.share(self.answered), 4),
            "refused": round(self.share(self.refused), 4),
            "rated_up": round(self.share(self.rated_up), 4),
            "rated_down": round(self.share(self.rated_down), 4),
            "latency_ms": {"p50": self.latency_p50_ms, "p99": self.latency_p99_ms},
            "most_refused": [{"question": q, "times": n} for q, n in self.most_refused],
            "rated_down_answers": [{"question": q, "first_title": t} for q, t in self.rated_down_answers],
        }


def _percentile(values: list[float], q: float) -> float | None:
    """:func:`~retrieval.search.evaluate.percentile`, to a tenth of a millisecond."""
    value = percentile(values, q)
    return None if value is None else round(value, 1)


def build_report(rows: Iterable[AskedRow], since: datetime) -> Report:
    per_day: Counter[date] = Counter()
    languages: Counter[str] = Counter()
    refused_questions: Counter[str] = Counter()
    shown_as: dict[str, str] = {}
    latencies: list[float] = []
    down: list[tuple[str, str | None]] = []
    questions = answered = refused = up = rated_down = 0
    for row in rows:
        questions += 1
        per_day[row.asked_at.date()] += 1
        languages[question_language(row.question)] += 1
        latencies.append(row.latency_ms)
        if row.no_match:
            refused += 1
            key = " ".join(row.question.casefold().split())
            refused_questions[key] += 1
            shown_as.setdefault(key, " ".join(row.question.split()))
        else:
            answered += 1
        if row.vote > 0:
            up += 1
        elif row.vote < 0:
            rated_down += 1
            down.append((" ".join(row.question.split()), row.first_title))
    return Report(
        since=since,
        questions=questions,
        per_day=dict(per_day),
        languages=dict(languages.most_common()),
        answered=answered,
        refused=refused,
        rated_up=up,
        rated_down=rated_down,
        latency_p50_ms=_percentile(latencies, 0.50),
        latency_p99_ms=_percentile(latencies, 0.99),
        most_refused=[(shown_as[key], n) for key, n in refused_questions.most_common(TOP_LISTED)],
        rated_down_answers=list(reversed(down))[:TOP_LISTED],
    )


def format_report(report: Report) -> str:
    """The report as plain lines."""
    lines = [f"Since {report.since:%Y-%m-%d %H:%M} UTC: {report.questions:,} questions"]
    if not report.questions:
        return lines[0]
    lines.append("Per day: " + ", ".join(f"{day:%m-%d} {n:,}" for day, n in sorted(report.per_day.items())))
    lines.append("Languages: " + ", ".join(f"{lang} {n:,}" for lang, n in report.languages.items()))
    lines.append(
        f"Answered {report.share(report.answered):.0%}, refused {report.share(report.refused):.0%}, "
        f"rated 👍 {report.share(report.rated_up):.0%}, 👎 {report.share(report.rated_down):.0%}"
    )
    p50, p99 = report.latency_p50_ms, report.latency_p99_ms
    if p50 is not None and p99 is not None:
        lines.append(f"Answer time: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    if report.most_refused:
        lines.append("Most often refused:")
        lines.extend(f"  {n:,}× {question}" for question, n in report.most_refused)
    if report.rated_down_answers:
        lines.append("Rated 👎:")
        lines.extend(f"  {question} → {title or '?'}" for question, title in report.rated_down_answers)
    return "\n".join(lines)
