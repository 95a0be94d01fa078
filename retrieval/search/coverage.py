"""How much of an English question a passage holds: the evidence behind "no good match".

A passage answers only when it holds a large enough share of the question's terms, each weighed
by its IDF. Terms the index has never seen weigh as much as its rarest term: a question about
something absent from the corpus must not look answered because its one common word matched.

The share is judged on the hit that ranks first (``bot.answer`` decides what is refused; with
the semantic stage, a question holding too little is still answered when some sentence of the
corpus means what it asks).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from retrieval.search.answer_line import matched_terms
from retrieval.search.hit import Hit

if TYPE_CHECKING:
    from retrieval.index.reader import Snapshot


def question_idfs(question: str, snapshot: Snapshot) -> dict[str, float]:
    """Each distinct term of ``question`` with its IDF (the largest the index has, for a term it
    lacks): the weight the term counts with in :func:`coverage`."""
    index = snapshot.index
    weights: dict[str, float] = {}
    for term in set(snapshot.analyzer.terms(question)):
        term_id = index.vocab.get(term)
        weights[term] = float(index.idf[term_id]) if term_id is not None else index.max_idf
    return weights


def coverage(question: str, hit: Hit, snapshot: Snapshot) -> float:
    """The weighted share of ``question``'s terms that ``hit`` holds in its text or its title."""
    weights = question_idfs(question, snapshot)
    total = math.fsum(weights.values())
    if total <= 0:
        return 0.0
    analyzer = snapshot.analyzer
    wanted = set(weights)
    present = {stem for stem, _, _ in matched_terms(hit, wanted, analyzer)}
    present |= wanted.intersection(analyzer.terms(hit.title))
    return math.fsum(weights[t] for t in present) / total
