"""How much of an English question a passage holds: the evidence behind "no good match".

A passage answers only when it holds a large enough share of the question's terms, each weighed
by its IDF. Terms the index has never seen weigh as much as its rarest term: a question about
something absent from the corpus must not look answered because its one common word matched.

The share is judged on the hit that ranks first. Which hit that is can take a semantic pass to
find (a few milliseconds a question), yet when no candidate that pass could lift to the top
holds enough of the question, the answer is refused whatever it decides, and the pass is
skipped: :func:`best_possible` bounds the share each candidate can reach.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from retrieval.search.answer_line import matched_terms
from retrieval.search.hit import Hit
from retrieval.search.rerank import among

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


def best_possible(
    question: str,
    pids: np.ndarray,
    snapshot: Snapshot,
    joined_tokens: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    title_terms_of: Callable[[int], frozenset[str]],
) -> float:
    """The largest :func:`coverage` any of ``pids`` could have, read from the index's tokens.

    A hit's matched words are words of its passage, whose stems are the passage's tokens, so a
    term absent from a passage's tokens and from its title cannot count for it.
    """
    weights = question_idfs(question, snapshot)
    total = math.fsum(weights.values())
    if total <= 0 or len(pids) == 0:
        return 0.0
    vocab = snapshot.index.vocab
    stems = {int(vocab[term]): term for term in weights if term in vocab}
    wanted = frozenset(weights)
    held = [set(wanted.intersection(title_terms_of(pid))) for pid in pids.tolist()]
    if stems:
        joined, counts = joined_tokens(pids)
        found = among(joined, np.fromiter(stems, np.int64, len(stems)))
        rows = np.repeat(np.arange(len(pids)), counts)[found]
        for row, term_id in set(zip(rows.tolist(), joined[found].tolist(), strict=True)):
            held[row].add(stems[term_id])
    return max(math.fsum(weights[t] for t in terms) for terms in held) / total
