"""Second-stage scoring of the first stage's best candidates, from the snapshot's token arrays.

BM25 scores a passage as a bag of words; a question, though, is usually answered by one
sentence that holds most of its terms close together.
The reranker describes each candidate by a few features, each scaled to about 0..1 so that one
set of weights fits every question and corpus, and scores it by their weighted sum. Features are
computed over all candidates at once with numpy (one concatenated token array), so reranking
fifty passages costs well under a millisecond.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

# Column order of :func:`candidate_features`.
FEATURES = (
    "bm25",
    "sentence",
    "pair",
    "coverage",
    "proximity",
    "title",
    "local",
    "bigram",
    "context",
    "exact",
)
# Up to this many terms, :func:`among` compares the tokens with each in turn.
FEW_TERMS = 16
_COLUMN = {name: column for column, name in enumerate(FEATURES)}
# Word characters as ``\b`` tells them apart from the rest (Unicode-aware, like the analyzer's).
_WORD_RUN = re.compile(r"\w+")


class TokenSource(Protocol):
    def joined_tokens(self, pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tokens of ``pids`` one after another, and how many each passage has."""

    def sentences_token_starts(self, pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


class ContextSource(Protocol):
    """What :func:`context_bm25` reads: passages in article order, their bag lengths and BM25 settings."""

    avgdl: float

    def __len__(self) -> int: ...
    def joined_tokens(self, pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
    def article_indexes(self, pids: np.ndarray) -> np.ndarray: ...
    def doc_lengths(self) -> np.ndarray: ...


class CandidateSource(TokenSource, ContextSource, Protocol):
    """What :func:`score_candidates` reads of one search's candidates: tokens, neighbours, texts."""

    def text(self, pid: int) -> str: ...


@dataclass(frozen=True, slots=True)
class QuestionTerms:
    """A question analyzed once for everything a search needs: known term ids with their weights
    and stems (question order, the rarest kept), and every kept word with its stem."""

    ids: np.ndarray
    weights: np.ndarray
    stems: list[str]
    words: list[tuple[str, str]]

    def stem_weights(self) -> dict[str, float]:
        return dict(zip(self.stems, self.weights.tolist(), strict=True))


@dataclass(frozen=True, slots=True)
class RerankParams:
    """Feature weights of the second stage; ``depth`` first-stage candidates are rescored.

    - ``bm25``: the first-stage score relative to the best candidate's;
    - ``sentence``: share of the question's idf mass found in the passage's best sentence;
    - ``pair``: the same for the best two consecutive sentences;
    - ``coverage``: the same for the whole passage (distinct terms, so repeats do not count);
    - ``proximity``: pairs of different question terms at most ``proximity_span`` tokens apart,
      each pair counted once at its closest, weighted by the rarer term's idf over the distance;
    - ``title``: share of the question's idf mass found in the article title;
    - ``local``: like ``sentence``, with each term's idf also multiplied by its rarity among the
      candidates;
    - ``bigram``: question bigrams found as adjacent terms in question order;
    - ``context``: BM25 of the passage joined with its neighbours in the same article (the passage
      before and the one after), relative to the best candidate's: questions often name what the
      surrounding text is about, which the answering passage need not repeat;
    - ``exact``: share of the question's idf mass whose words occur in the passage exactly as
      asked (case aside), not just with the same stem: questions are often phrased with the
      answering passage's own word forms ("signed" rather than "signing"), which stemming
      throws away;
    - ``answer_type``: applied after the features' score, by
      :func:`retrieval.search.answer_type.prefer_asked_type`: a bonus (relative to the best
      score) for the best few candidates whose best sentence holds the asked type of answer.

    The defaults were tuned by coordinate ascent on half of the SQuAD questions and half of the
    SciFact claims of ../shared/eval (split by a hash of the question id) and checked on the other
    halves, each feature kept only where it helped both halves and did not hurt SciFact.
    """

    depth: int = 50
    bm25: float = 1.0
    sentence: float = 0.5
    pair: float = 0.1
    coverage: float = 0.2
    proximity: float = 0.3
    title: float = 0.8
    local: float = 0.5
    bigram: float = 0.8
    context: float = 0.3
    exact: float = 0.6
    answer_type: float = 0.1
    proximity_span: int = 5

    def weights(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in FEATURES], dtype=np.float64)

    @property
    def needs_tokens(self) -> bool:
        return any((self.sentence, self.pair, self.coverage, self.proximity, self.local, self.bigram))


def score_candidates(
    source: CandidateSource,
    pids: np.ndarray,
    first_scores: np.ndarray,
    query: QuestionTerms,
    params: RerankParams,
    *,
    title_terms_of: Callable[[int], frozenset[str]],
    k1: float,
    b: float,
) -> np.ndarray:
    """Each candidate's rerank score: its :func:`candidate_features` weighted by ``params``.

    ``title_terms_of(pid)``: the distinct stems of the passage's article title; ``k1`` and ``b``:
    the snapshot's BM25 settings, which the ``context`` feature scores with.
    """
    stem_weights = query.stem_weights()
    title = None
    if params.title:
        title = title_mass(pids, stem_weights, title_terms_of)
    context = None
    if params.context:
        context = context_bm25(source, pids, query.ids, query.weights, k1=k1, b=b)
    exact = None
    if params.exact:
        exact = exact_word_mass(
            [source.text(pid) for pid in pids.tolist()], word_weights(query.words, stem_weights)
        )
    features = candidate_features(
        source, pids, first_scores, query.ids, query.weights, params,
        title_mass=title, context=context, exact_mass=exact,
    )  # fmt: skip
    return rerank_scores(features, params)


def title_mass(
    pids: np.ndarray, stem_weights: dict[str, float], title_terms_of: Callable[[int], frozenset[str]]
) -> np.ndarray:
    """Per candidate, the summed weight of the question's stems in its article title."""
    mass = np.zeros(len(pids))
    for row, pid in enumerate(pids.tolist()):
        mass[row] = math.fsum(stem_weights.get(t, 0.0) for t in title_terms_of(pid))
    return mass


def word_weights(words: list[tuple[str, str]], stem_weights: dict[str, float]) -> dict[str, float]:
    """The question's surface words with their stem's weight, shared among a stem's forms (what
    :func:`exact_word_mass` weighs)."""
    forms: dict[str, set[str]] = {}
    for word, stem in words:
        if stem in stem_weights:
            forms.setdefault(stem, set()).add(word)
    return {word: stem_weights[stem] / len(same) for stem, same in forms.items() for word in same}


def candidate_features(
    source: TokenSource,
    pids: np.ndarray,
    first_scores: np.ndarray,
    query_ids: np.ndarray,
    query_weights: np.ndarray,
    params: RerankParams,
    *,
    title_mass: np.ndarray | None = None,
    context: np.ndarray | None = None,
    exact_mass: np.ndarray | None = None,
) -> np.ndarray:
    """A ``(len(pids), len(FEATURES))`` matrix; features whose weight is 0 are left at 0.

    ``title_mass`` is the idf mass of question terms in each candidate's title (for ``title``),
    ``context`` each candidate's :func:`context_bm25` (for ``context``), ``exact_mass`` each
    candidate's :func:`exact_word_mass` (for ``exact``).
    """
    features = np.zeros((len(pids), len(FEATURES)))
    if len(pids) == 0:
        return features
    first = np.asarray(first_scores, dtype=np.float64)
    top = first.max()
    features[:, _COLUMN["bm25"]] = first / top if top > 0 else 0.0
    total = float(query_weights.sum()) or 1.0
    if params.title and title_mass is not None:
        features[:, _COLUMN["title"]] = title_mass / total
    if params.context and context is not None and context.max() > 0:
        features[:, _COLUMN["context"]] = context / context.max()
    if params.exact and exact_mass is not None:
        features[:, _COLUMN["exact"]] = exact_mass / total
    if params.needs_tokens:
        matches = _Matches.find(source, pids, query_ids, query_weights)
        if matches is not None:
            _token_features(features, matches, source, pids, params, total)
    return features


@dataclass(frozen=True, slots=True)
class _Matches:
    """Where question terms occur in the candidates' tokens, all candidates concatenated."""

    positions: np.ndarray  # of each match in the concatenated tokens
    docs: np.ndarray  # the candidate (row) of each match
    term_index: np.ndarray  # which question term each match is
    weights: np.ndarray  # that term's weight
    doc_offsets: np.ndarray  # where each candidate's tokens start
    query_weights: np.ndarray
    n_terms: int
    n_docs: int

    @classmethod
    def find(
        cls, source: TokenSource, pids: np.ndarray, query_ids: np.ndarray, query_weights: np.ndarray
    ) -> _Matches | None:
        tokens, lengths = source.joined_tokens(pids)
        if len(tokens) == 0:
            return None
        doc_offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        positions, term_index = _term_matches(tokens, query_ids)
        if len(positions) == 0:
            return None
        weights = np.asarray(query_weights, dtype=np.float64)
        return cls(
            positions=positions,
            docs=np.searchsorted(doc_offsets, positions, side="right") - 1,
            term_index=term_index,
            weights=weights[term_index],
            doc_offsets=doc_offsets,
            query_weights=weights,
            n_terms=len(query_ids),
            n_docs=len(pids),
        )


def _token_features(
    features: np.ndarray,
    m: _Matches,
    source: TokenSource,
    pids: np.ndarray,
    params: RerankParams,
    total: float,
) -> None:
    """Fill, in place, the features read from where the question's terms sit in each passage."""
    n_terms, n = m.n_terms, m.n_docs
    if params.coverage:
        features[:, _COLUMN["coverage"]] = _distinct_mass(m.docs, m.term_index, m.weights, n_terms, n) / total
    if params.sentence or params.pair or params.local:
        numbers = _sentence_numbers(*source.sentences_token_starts(pids), m.doc_offsets, m.positions, m.docs)

        def best(width: int, match_weights: np.ndarray) -> np.ndarray:
            return _best_window(*numbers, m.docs, m.term_index, match_weights, n_terms, n, width)

        if params.sentence:
            features[:, _COLUMN["sentence"]] = best(1, m.weights) / total
        if params.pair:
            features[:, _COLUMN["pair"]] = best(2, m.weights) / total
        if params.local:
            # Question terms weighted by their rarity among the candidates as well: a term every
            # candidate holds (often the article's subject) cannot tell them apart.
            local_df = np.bincount(np.unique(m.docs * n_terms + m.term_index) % n_terms, minlength=n_terms)
            local = np.log1p(n / np.maximum(local_df, 1)) * m.query_weights
            features[:, _COLUMN["local"]] = best(1, local[m.term_index]) / (local.sum() or 1.0)
    if params.bigram:
        features[:, _COLUMN["bigram"]] = _bigrams(m.positions, m.docs, m.term_index, m.weights, n) / total
    if params.proximity:
        features[:, _COLUMN["proximity"]] = (
            _proximity(m.positions, m.docs, m.term_index, m.weights, params.proximity_span, n) / total
        )


def context_bm25(
    source: ContextSource,
    pids: np.ndarray,
    query_ids: np.ndarray,
    query_weights: np.ndarray,
    *,
    k1: float,
    b: float,
) -> np.ndarray:
    """Per candidate, the BM25 score of the passage together with its article neighbours.

    A window of w passages is length-normalised against w average passages, so windows at an
    article's edges (or of a one-passage article) are not favoured for being short. Each passage
    is read once even when several windows share it, and all are matched in one pass.
    """
    n = len(pids)
    if n == 0 or len(query_ids) == 0:
        return np.zeros(n)
    grid = np.asarray(pids, dtype=np.int64)[:, None] + np.array([-1, 0, 1])
    inside = (grid >= 0) & (grid < len(source))
    grid = np.clip(grid, 0, len(source) - 1)
    article = source.article_indexes(grid)
    inside &= article == article[:, 1:2]
    window_of = np.nonzero(inside)[0]
    members, slot = np.unique(grid[inside], return_inverse=True)

    tokens, sizes = source.joined_tokens(members)
    owner = np.repeat(np.arange(len(members)), sizes)
    positions, term = _term_matches(tokens, query_ids)
    counts = np.zeros((len(members), len(query_ids)))
    np.add.at(counts, (owner[positions], term), 1.0)

    tf = np.zeros((n, len(query_ids)))
    np.add.at(tf, window_of, counts[slot])
    bag_lengths = np.asarray(source.doc_lengths())[members].astype(np.float64)
    window_length = np.bincount(window_of, weights=bag_lengths[slot], minlength=n)
    norm = k1 * (1 - b + b * window_length / (source.avgdl * inside.sum(axis=1)))
    return (np.asarray(query_weights) * tf * (k1 + 1) / (tf + norm[:, None])).sum(axis=1)


def exact_word_mass(texts: list[str], word_weights: dict[str, float]) -> np.ndarray:
    """Per text, the summed weight of the distinct ``word_weights`` words it holds as whole words.

    Words are the analyzer's surface forms (case-folded, typographic apostrophes made plain), so
    texts are folded the same way. Whole-word matching means what one pattern
    ``\\b(?:w1|w2|…)\\b`` finds in a text. When every word is a plain run of word characters,
    that is exactly the words that occur as a maximal run of them, which a substring search per
    word finds several times faster than a regular expression scanning every character (and
    without compiling one per question); one search per word runs over all the texts joined by
    line breaks, not one per text. A word with other characters (an inner apostrophe) can span
    runs and hide the words inside it, so then the pattern itself is run.
    """
    out = np.zeros(len(texts))
    if not word_weights:
        return out
    if all(_WORD_RUN.fullmatch(word) for word in word_weights):
        folded = [text.casefold() for text in texts]
        joined = "\n".join(folded)
        ends = list(itertools.accumulate(len(text) + 1 for text in folded))  # past each text's break
        found: list[list[str]] = [[] for _ in texts]
        for word in word_weights:
            start = _next_run(joined, word, 0)
            while start >= 0:
                row = bisect.bisect_right(ends, start)
                found[row].append(word)
                start = _next_run(joined, word, ends[row])  # once per text is enough
        for row, words in enumerate(found):
            if words:
                out[row] = math.fsum(word_weights[word] for word in words)
        return out
    alternatives = "|".join(re.escape(word) for word in sorted(word_weights, key=len, reverse=True))
    pattern = re.compile(rf"\b(?:{alternatives})\b")
    for row, text in enumerate(texts):
        found = set(pattern.findall(text.casefold().replace("’", "'")))
        out[row] = math.fsum(word_weights[word] for word in found)
    return out


def _next_run(text: str, word: str, start: int) -> int:
    """Where ``word``, made of word characters only, next occurs in ``text`` from ``start`` as a
    maximal run of word characters (what ``\\bword\\b`` matches); -1 when it does not."""
    start = text.find(word, start)
    while start >= 0:
        end = start + len(word)
        if (start == 0 or not _is_word_char(text[start - 1])) and not _is_word_char(text[end : end + 1]):
            return start
        start = text.find(word, start + 1)
    return -1


def _is_word_char(char: str) -> bool:
    """Whether ``char`` is what ``\\w`` matches (``str.isalnum`` or the underscore; "" is not)."""
    return char.isalnum() or char == "_"


def among(tokens: np.ndarray, term_ids: np.ndarray) -> np.ndarray:
    """``np.isin(tokens, term_ids)``, with one comparison pass per term when there are as few as
    a question has: several times faster than the sort ``isin`` does, on every search."""
    if len(term_ids) > FEW_TERMS:
        return np.isin(tokens, term_ids)
    found = np.zeros(len(tokens), dtype=bool)
    for term in term_ids.tolist():
        found |= tokens == term
    return found


def _term_matches(tokens: np.ndarray, query_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where ``tokens`` hold a question term, and which of ``query_ids`` (its index) each is."""
    order = np.argsort(query_ids)
    sorted_ids = query_ids[order]
    positions = np.flatnonzero(among(tokens, sorted_ids))
    return positions, order[np.searchsorted(sorted_ids, tokens[positions])]


def rerank_scores(features: np.ndarray, params: RerankParams) -> np.ndarray:
    return features @ params.weights()


def _distinct_mass(
    owners: np.ndarray, term_index: np.ndarray, weights: np.ndarray, n_terms: int, n_owners: int
) -> np.ndarray:
    """Per owner, the summed weight of the distinct terms it holds."""
    keys = owners * n_terms + term_index
    unique_keys, first = np.unique(keys, return_index=True)
    return np.bincount(unique_keys // n_terms, weights=weights[first], minlength=n_owners)


def _bigrams(
    positions: np.ndarray, docs: np.ndarray, term_index: np.ndarray, weights: np.ndarray, n_docs: int
):
    """Per candidate, question bigrams found as adjacent terms in question order, each counted once."""
    if len(positions) < 2:
        return np.zeros(n_docs)
    hit = (docs[1:] == docs[:-1]) & (np.diff(positions) == 1) & (term_index[1:] == term_index[:-1] + 1)
    if not hit.any():
        return np.zeros(n_docs)
    n_terms = int(term_index.max()) + 2
    keys = docs[1:][hit] * n_terms + term_index[1:][hit]
    unique_keys, first = np.unique(keys, return_index=True)
    bonus = np.minimum(weights[1:], weights[:-1])[hit][first]
    return np.bincount(unique_keys // n_terms, weights=bonus, minlength=n_docs)


def _sentence_numbers(
    starts: np.ndarray, counts: np.ndarray, doc_offsets: np.ndarray, positions: np.ndarray, docs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global sentence number of each match, each passage's first sentence number, and the
    passage of each sentence. ``starts`` are the passages' sentence starts joined, ``counts``
    how many each has; a passage without sentences counts as one from its first token."""
    fixed = np.maximum(counts, 1)
    first_sentence = np.cumsum(fixed) - fixed
    global_starts = np.repeat(doc_offsets, fixed)
    own = np.repeat(first_sentence - (np.cumsum(counts) - counts), counts) + np.arange(len(starts))
    global_starts[own] += starts
    sentence_of = np.searchsorted(global_starts, positions, side="right") - 1
    # A passage whose first sentence starts after token 0 (cannot happen, but be safe).
    sentence_of = np.maximum(sentence_of, first_sentence[docs])
    return sentence_of, first_sentence, np.repeat(np.arange(len(fixed)), fixed)


def _best_window(
    sentence_of: np.ndarray,
    first_sentence: np.ndarray,
    sentence_doc: np.ndarray,
    docs: np.ndarray,
    term_index: np.ndarray,
    weights: np.ndarray,
    n_terms: int,
    n_docs: int,
    width: int,
) -> np.ndarray:
    """Per candidate, the distinct-term mass of its best run of ``width`` consecutive sentences."""
    # A match in sentence j counts for the windows starting at j - width + 1 .. j of its passage.
    windows = np.concatenate([sentence_of - shift for shift in range(width)])
    owners = np.tile(docs, width)
    valid = windows >= first_sentence[owners]
    mass = _distinct_mass(
        windows[valid],
        np.tile(term_index, width)[valid],
        np.tile(weights, width)[valid],
        n_terms,
        len(sentence_doc),
    )
    best = np.zeros(n_docs)
    np.maximum.at(best, sentence_doc, mass)
    return best


def _proximity(
    positions: np.ndarray,
    docs: np.ndarray,
    term_index: np.ndarray,
    weights: np.ndarray,
    span: int,
    n_docs: int,
) -> np.ndarray:
    """Per candidate, over pairs of different adjacent matches: min(idf) / distance, once a pair."""
    if len(positions) < 2:
        return np.zeros(n_docs)
    gap = np.diff(positions)
    pair = (docs[1:] == docs[:-1]) & (term_index[1:] != term_index[:-1]) & (gap <= span)
    if not pair.any():
        return np.zeros(n_docs)
    low = np.minimum(term_index[1:], term_index[:-1])[pair]
    high = np.maximum(term_index[1:], term_index[:-1])[pair]
    owner = docs[1:][pair]
    bonus = (np.minimum(weights[1:], weights[:-1]) / np.maximum(gap, 1))[pair]
    n_terms = int(term_index.max()) + 1
    keys = (owner * n_terms + low) * n_terms + high
    order = np.lexsort((-bonus, keys))
    keys, bonus, owner = keys[order], bonus[order], owner[order]
    first = np.concatenate(([True], keys[1:] != keys[:-1]))
    return np.bincount(owner[first], weights=bonus[first], minlength=n_docs)
