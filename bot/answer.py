"""The answering service every front end calls: question in, format-neutral Answer out."""

from __future__ import annotations

from dataclasses import dataclass, field

from retrieval.hit import Span


@dataclass(frozen=True, slots=True)
class Quote:
    text: str
    title: str
    article_id: str
    link: str
    score: float
    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """What the user is shown for one question (one page of it).

    ``answer`` is the answer line (one sentence), ``None`` when there is no good match.
    ``page`` counts from 1; ``has_more`` says whether page + 1 would show further quotes.
    """

    question: str
    answer: str | None
    quotes: tuple[Quote, ...]
    no_match: bool
    suggestions: tuple[str, ...] = ()
    page: int = 1
    has_more: bool = False
    took_ms: float = 0.0
    truncated: bool = False
    snapshot_version: str = ""
    extra: dict = field(default_factory=dict)
