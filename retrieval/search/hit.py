"""What a search returns: one quoted passage with everything a front end needs to show it."""

from __future__ import annotations

from dataclasses import dataclass

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Hit:
    """A ranked passage.

    ``spans`` are character ranges of matched question terms inside ``text`` (for highlighting);
    ``sentences`` are the sentence ranges inside ``text`` (for the answer line); ``start``/``end``
    locate ``text`` in the article body. ``similarity``, for a question asked in another
    language, is how far the corpus's best match for it stands out from the corpus as a whole
    (:meth:`retrieval.search.semantic.SemanticStage.standout`), less what the names the top hit
    lacks cost: the same for every hit of one search, what the "no good match" rule reads; None
    otherwise.
    """

    passage_id: int
    article_id: str
    title: str
    link: str
    text: str
    score: float
    spans: tuple[Span, ...]
    sentences: tuple[Span, ...]
    start: int
    end: int
    similarity: float | None = None
