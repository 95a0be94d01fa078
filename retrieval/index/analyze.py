"""Articles into arrays: passages cut, words analyzed into term ids, BM25 bags counted, batch by batch.

Memory stays bounded however large the store: each batch of articles becomes integer arrays here
(:func:`analyze_batch`, which may run in worker processes), and the writer appends them to the
snapshot's files at once.

Analysis speed matters at a million passages (about 120 million words): calling the analyzer
word by word costs ~1 µs a word. So a batch's passages go through the analyzer's word pattern as
one array of code points (:mod:`retrieval.text.wordscan`), and the analyzer is asked only about
each distinct word once per process: it maps each match of its word pattern on its own, so a
word's terms do not depend on its neighbours (the tests hold every passage's tokens to the
analyzer's own, on tricky and on random text of many scripts).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from retrieval.long_lived import freeze_long_lived
from retrieval.text.analysis import Analyzer
from retrieval.text.passages import batch_passage_spans
from retrieval.text.wordscan import PackedWordIds, find_words, pack_words

# Separates text segments in a batch's joined text; never a word character, so the analyzer would
# have split there anyway, and any occurrence in an article is blanked first.
_MARK = "\x00"
_MARK_CODE = 0
_SPACE_CODE = ord(" ")
_NO_TERM = -1
_MAX_TF = np.iinfo(np.uint16).max

Row = tuple[str, str, str]  # article_id, title, body

# An article longer than this is indexed up to here (with a warning): analysis holds a batch's
# text as arrays of code points and their classes, about 40 bytes a character at its peak, so a
# runaway row (a dump's mis-joined text, a 50 MB page) must not take the build's memory with it.
# The longest real encyclopedia articles are a few hundred thousand characters.
MAX_ARTICLE_CHARS = 2_000_000
# A batch closes at this many characters of article text, whatever its number of articles.
BATCH_CHARS = 4_000_000


@dataclass(slots=True)
class AnalyzedBatch:
    """One batch of articles as arrays.

    Term and surface-word ids are those of the analyzing process's :class:`WordTable`; the batch
    carries the terms and words that process met for the first time (``new_terms`` get ids
    ``terms_from``, ``terms_from + 1``, ...), so the writer can map ids without a per-batch
    dictionary pass.
    """

    process: int
    article_ids: list[str]
    titles: list[str]
    passage_meta: np.ndarray  # int32 (P, 4): local article, ordinal, start, end
    text_blob: bytes
    text_lengths: np.ndarray  # int64 (P,) UTF-8 bytes
    sentence_counts: np.ndarray  # int32 (P,)
    sentences: np.ndarray  # int32 (S, 2)
    sentence_token_starts: np.ndarray  # int32 (S,)
    terms_from: int
    new_terms: list[str]
    tokens: np.ndarray  # int32 term ids, passage after passage
    token_counts: np.ndarray  # int32 (P,)
    bag_terms: np.ndarray  # int32 distinct term ids per passage, passage after passage
    bag_tfs: np.ndarray  # uint16
    bag_nnz: np.ndarray  # int32 (P,)
    bag_len: np.ndarray  # int32 (P,)
    words_from: int
    new_words: list[str]
    word_ids: np.ndarray  # int32 surface words seen in the batch
    word_counts: np.ndarray  # int64 their occurrences

    @property
    def passages(self) -> int:
        return len(self.passage_meta)


class _Growing:
    """An int32 array that grows by appending (amortized doubling)."""

    def __init__(self) -> None:
        self._data = np.empty(1024, np.int32)
        self.size = 0

    def extend(self, values: list[int]) -> None:
        end = self.size + len(values)
        if end > len(self._data):
            grown = np.empty(max(end, 2 * len(self._data)), np.int32)
            grown[: self.size] = self.array
            self._data = grown
        self._data[self.size : end] = values
        self.size = end

    @property
    def array(self) -> np.ndarray:
        return self._data[: self.size]


class WordTable:
    """What the analyzer makes of each distinct word this process has seen, with process ids.

    Word matches map to word ids (through :class:`PackedWordIds`, or a dict for the few words that
    do not pack), and word ids map through arrays to term and surface-word ids; the analyzer runs
    once per new word.
    """

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self.packed = PackedWordIds()
        self.loose_ids: dict[str, int] = {}
        self._word_term = _Growing()
        self._word_surface = _Growing()
        self.term_ids: dict[str, int] = {}
        self.terms: list[str] = []
        self.surface_ids: dict[str, int] = {}
        self.surfaces: list[str] = []
        self._terms_sent = 0
        self._surfaces_sent = 0

    def term_id(self, term: str) -> int:
        found = self.term_ids.get(term)
        if found is None:
            found = self.term_ids[term] = len(self.terms)
            self.terms.append(term)
        return found

    def surface_id(self, surface: str) -> int:
        found = self.surface_ids.get(surface)
        if found is None:
            found = self.surface_ids[surface] = len(self.surfaces)
            self.surfaces.append(surface)
        return found

    def learn(self, words: list[str]) -> list[int]:
        """Ask the analyzer about words not seen before, all of them in one call; their new ids.

        The words are joined by newlines (never part of a word) and analyzed together; each
        kept word's stem and surface form are matched back to the word by character offset.
        The caller files the ids under the words' keys.
        """
        joined = "\n".join(words)
        starts = np.cumsum([0, *(len(word) + 1 for word in words[:-1])])
        kept = self.analyzer.words_with_terms(joined)
        owners = np.searchsorted(starts, [start for _, _, start, _ in kept], side="right") - 1
        if len(set(owners.tolist())) != len(kept):  # the word scanner and the analyzer disagree
            raise RuntimeError(f"the analyzer splits a word match further: {joined[:80]!r}")
        terms = [_NO_TERM] * len(words)
        surface_ids = [-1] * len(words)
        for (surface, stem, _, _), owner in zip(kept, owners.tolist(), strict=True):
            terms[owner] = self.term_id(stem)
            surface_ids[owner] = self.surface_id(surface)
        first = self._word_term.size
        self._word_term.extend(terms)
        self._word_surface.extend(surface_ids)
        return list(range(first, first + len(words)))

    def word_terms(self, word_ids: np.ndarray) -> np.ndarray:
        return self._word_term.array[word_ids]

    def word_surfaces(self, word_ids: np.ndarray) -> np.ndarray:
        return self._word_surface.array[word_ids]

    def news(self) -> tuple[int, list[str], int, list[str]]:
        """Terms and surface words added since the previous call, with the id of the first."""
        terms_from, words_from = self._terms_sent, self._surfaces_sent
        self._terms_sent, self._surfaces_sent = len(self.terms), len(self.surfaces)
        return terms_from, self.terms[terms_from:], words_from, self.surfaces[words_from:]


_TABLE: WordTable | None = None


def init_worker(analyzer_settings: dict, builder: int) -> None:
    """Process-pool initializer: one analyzer and word table per worker process.

    A worker also exits when its builder dies (SIGKILL included): its pool pipes would otherwise
    keep it waiting forever.
    """
    global _TABLE
    _TABLE = WordTable(Analyzer.from_dict(analyzer_settings))

    def exit_when_orphaned() -> None:
        while os.getppid() == builder:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=exit_when_orphaned, name="orphan-watch", daemon=True).start()


def analyze_in_worker(articles: list[Row]) -> AnalyzedBatch:
    assert _TABLE is not None, "init_worker was not called"
    batch = analyze_batch(articles, _TABLE)
    freeze_long_lived()
    return batch


def analyze_batch(articles: list[Row], table: WordTable) -> AnalyzedBatch:
    """Cut ``(article_id, title, body)`` rows into passages and analyze them into arrays."""
    cut = _cut_passages(articles, table)
    layout = cut.layout
    analysis = _analyze_codes(layout.joined(), table)
    tokens, token_counts, sentence_token_starts = _token_positions(analysis, layout.sentence_counts)
    bag_terms, bag_tfs, bag_nnz, bag_len = _bags(
        tokens, token_counts, cut.title_terms, cut.title_lengths, layout.meta[:, 0], len(table.terms)
    )
    terms_from, new_terms, words_from, new_words = table.news()
    return AnalyzedBatch(
        process=os.getpid(),
        article_ids=cut.article_ids,
        titles=cut.titles,
        passage_meta=layout.meta,
        text_blob=b"".join(cut.texts),
        text_lengths=np.fromiter(map(len, cut.texts), np.int64, len(cut.texts)),
        sentence_counts=layout.sentence_counts.astype(np.int32),
        sentences=cut.sentences.astype(np.int32),
        sentence_token_starts=sentence_token_starts.astype(np.int32),
        terms_from=terms_from,
        new_terms=new_terms,
        tokens=tokens.astype(np.int32),
        token_counts=token_counts,
        bag_terms=bag_terms,
        bag_tfs=bag_tfs,
        bag_nnz=bag_nnz,
        bag_len=bag_len,
        words_from=words_from,
        new_words=new_words,
        word_ids=analysis.surface_ids,
        word_counts=analysis.surface_counts,
    )


@dataclass(frozen=True, slots=True)
class _Cut:
    """A batch's articles cut into passages: what is stored of them and how they are laid out."""

    article_ids: list[str]  # of the articles that have passages
    titles: list[str]
    title_terms: np.ndarray  # int32 term ids of every title, title after title
    title_lengths: np.ndarray  # int64 terms per title
    texts: list[bytes]  # UTF-8 text of each passage
    sentences: np.ndarray  # int64 (S, 2), relative to the passage
    layout: _Layout


def _cut_passages(articles: list[Row], table: WordTable) -> _Cut:
    analyzer = table.analyzer
    article_ids: list[str] = []
    titles: list[str] = []
    title_terms: list[list[int]] = []
    meta: list[tuple[int, int, int, int]] = []
    texts: list[bytes] = []
    sentence_counts: list[int] = []
    sentences: list[tuple[int, int]] = []  # offsets into the article
    bodies = [body or "" for _, _, body in articles]
    codes, body_starts, passages = batch_passage_spans(bodies)
    code_starts: list[int] = []  # where each starts in ``codes``
    for (article_id, title, _), body, body_start, spans in zip(
        articles, bodies, body_starts.tolist(), passages, strict=True
    ):
        if not spans:
            continue
        local = len(article_ids)
        article_ids.append(article_id)
        titles.append(title or "")
        title_terms.append([table.term_id(t) for t in analyzer.index_terms(title or "", "")])
        code_starts.append(body_start)
        for ordinal, (start, end, passage_sentences) in enumerate(spans):
            meta.append((local, ordinal, start, end))
            texts.append(body[start:end].encode("utf-8", "surrogatepass"))
            sentence_counts.append(len(passage_sentences))
            sentences.extend(passage_sentences)

    meta_array = np.asarray(meta, np.int32).reshape(len(meta), 4)
    counts = np.asarray(sentence_counts, np.int64)
    sentence_array = np.fromiter(itertools.chain.from_iterable(sentences), np.int64, 2 * len(sentences))
    sentence_array = sentence_array.reshape(-1, 2) - np.repeat(meta_array[:, 2], counts)[:, None]
    return _Cut(
        article_ids=article_ids,
        titles=titles,
        title_terms=np.fromiter(itertools.chain.from_iterable(title_terms), np.int32),
        title_lengths=np.fromiter(map(len, title_terms), np.int64, len(title_terms)),
        texts=texts,
        sentences=sentence_array,
        layout=_Layout(codes, np.asarray(code_starts, np.int64), meta_array, counts, sentence_array[:, 0]),
    )


def _token_positions(analysis: _Analysis, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The batch's tokens, each passage's token count, and where each sentence's tokens start."""
    kept = analysis.terms >= 0
    tokens = analysis.terms[kept]
    # Tokens before each mark, i.e. up to the end of each segment.
    tokens_through = np.concatenate(([0], np.cumsum(kept, dtype=np.int64)))[analysis.words_before_mark]
    last_segment = np.cumsum(counts + 1) - 1
    passage_end = tokens_through[last_segment] if counts.size else np.zeros(0, np.int64)
    passage_start = np.concatenate(([0], passage_end))[:-1].astype(np.int64)
    token_counts = (passage_end - passage_start).astype(np.int32)
    # Sentence i of a passage starts after the tokens of segments 0..i (its own segment is i + 1).
    first_segment = last_segment - counts
    sentence_segment = np.repeat(first_segment, counts) + _ranks(counts)
    sentence_token_starts = tokens_through[sentence_segment] - np.repeat(passage_start, counts)
    return tokens, token_counts, sentence_token_starts


@dataclass(frozen=True, slots=True)
class _Layout:
    """A batch's passages as text segments: each passage is cut before each of its sentences, and
    every segment is analyzed on its own (followed by a mark in the joined text)."""

    codes: np.ndarray  # code points of the batch's articles (all of them)
    body_starts: np.ndarray  # where each article that has passages starts in ``codes``
    meta: np.ndarray  # (P, 4): local article, ordinal, start, end
    sentence_counts: np.ndarray  # (P,)
    sentence_starts: np.ndarray  # (S,) relative to the passage

    def joined(self) -> np.ndarray:
        """Code points of every segment followed by a mark, passage after passage, with any mark
        character of the text blanked."""
        starts = self.body_starts[self.meta[:, 0]] + self.meta[:, 2]
        lengths = (self.meta[:, 3] - self.meta[:, 2]).astype(np.int64)
        offsets = np.cumsum(lengths) - lengths  # of each passage in the concatenated passages
        passages = self.codes[np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))]
        passages[passages == _MARK_CODE] = _SPACE_CODE
        cuts = np.concatenate(
            (np.repeat(offsets, self.sentence_counts) + self.sentence_starts, offsets + lengths)
        )
        return np.insert(passages, cuts, _MARK_CODE)


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c-1 for each count c, concatenated."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts


@dataclass(frozen=True, slots=True)
class _Analysis:
    """A batch's word matches as terms, where its segments end, and its surface words."""

    terms: np.ndarray  # term id of each word match, or _NO_TERM
    words_before_mark: np.ndarray  # word matches before the mark that ends each segment
    surface_ids: np.ndarray  # int32 surface words seen in the batch
    surface_counts: np.ndarray  # int64 their occurrences


def _analyze_codes(codes: np.ndarray, table: WordTable) -> _Analysis:
    """Word matches of the joined segments (code points, a mark after each) mapped to term ids.

    Per-word work stays in numpy except for words new to this process and words that do not pack.
    """
    starts, ends = find_words(codes)
    word_of_match = _word_ids(codes, starts, ends, table)
    marks = np.flatnonzero(codes == _MARK_CODE)
    surfaces = table.word_surfaces(word_of_match)
    counts = np.bincount(surfaces[surfaces >= 0], minlength=len(table.surfaces))
    seen = np.flatnonzero(counts).astype(np.int32)
    return _Analysis(
        table.word_terms(word_of_match), np.searchsorted(starts, marks), seen, counts[seen].astype(np.int64)
    )


def _word_ids(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray, table: WordTable) -> np.ndarray:
    """The process's word id of each match, learning the new words (in sorted order) first."""
    low, high, fits = pack_words(codes, starts, ends)
    packed = np.flatnonzero(fits)
    ids = np.full(len(starts), -1, np.int64)
    ids[packed] = table.packed.lookup(low[packed], high[packed])
    loose = np.flatnonzero(~fits)
    loose_words = _texts(codes, starts[loose], ends[loose])
    found = table.loose_ids.get
    ids[loose] = np.fromiter((found(w, -1) for w in loose_words), np.int64, len(loose))

    unknown = packed[ids[packed] < 0]
    if unknown.size:
        # One match of each distinct unknown packed word: sort by key, keep where the key changes.
        order = unknown[np.lexsort((high[unknown], low[unknown]))]
        change = np.ones(len(order), np.bool_)
        change[1:] = (low[order][1:] != low[order][:-1]) | (high[order][1:] != high[order][:-1])
        first = order[change]
        new_packed = _texts(codes, starts[first], ends[first])
    else:
        first = unknown
        new_packed = []
    new_loose = {w for w, i in zip(loose_words, ids[loose].tolist(), strict=True) if i < 0}
    if new_packed or new_loose:
        words = sorted({*new_packed, *new_loose})
        learned = dict(zip(words, table.learn(words), strict=True))
        if new_packed:
            new_ids = np.fromiter(map(learned.__getitem__, new_packed), np.int64, len(new_packed))
            table.packed.insert(low[first], high[first], new_ids)
            ids[unknown] = table.packed.lookup(low[unknown], high[unknown])
        if new_loose:
            table.loose_ids.update((w, learned[w]) for w in new_loose)
            still = loose[ids[loose] < 0]
            ids[still] = [table.loose_ids[w] for w in _texts(codes, starts[still], ends[still])]
    return ids


def _texts(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[str]:
    """The strings at ``[starts, ends)`` (words: never a mark character), decoded in one go."""
    if not len(starts):
        return []
    lengths = ends - starts
    offsets = np.cumsum(lengths + 1) - (lengths + 1)
    gathered = np.full(int(lengths.sum()) + len(starts) - 1, _MARK_CODE, np.uint32)
    inside = np.repeat(offsets, lengths) + _ranks(lengths)
    gathered[inside] = codes[np.repeat(starts, lengths) + _ranks(lengths)]
    return gathered.tobytes().decode("utf-32-le", "surrogatepass").split(_MARK)


def _bags(
    tokens: np.ndarray,
    token_counts: np.ndarray,
    title_flat: np.ndarray,
    title_lengths: np.ndarray,
    passage_article: np.ndarray,
    n_terms: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each passage's BM25 bag (its tokens plus its article's title part) as distinct terms + counts."""
    n_passages = len(token_counts)
    title_starts = np.cumsum(title_lengths) - title_lengths
    lengths = title_lengths[passage_article]
    title_tokens = title_flat[np.repeat(title_starts[passage_article], lengths) + _ranks(lengths)]
    docs = np.concatenate(
        (
            np.repeat(np.arange(n_passages, dtype=np.int64), token_counts),
            np.repeat(np.arange(n_passages, dtype=np.int64), lengths),
        )
    )
    keys = docs * max(n_terms, 1) + np.concatenate((tokens, title_tokens)).astype(np.int64)
    unique, tfs = np.unique(keys, return_counts=True)
    bag_docs = unique // max(n_terms, 1)
    return (
        (unique % max(n_terms, 1)).astype(np.int32),
        np.minimum(tfs, _MAX_TF).astype(np.uint16),
        np.bincount(bag_docs, minlength=n_passages).astype(np.int32),
        (token_counts + lengths).astype(np.int32),
    )


def article_batches(rows: Iterable[Row], size: int, *, chars: int = BATCH_CHARS) -> Iterator[list[Row]]:
    """Rows in batches of ``size`` articles, or fewer when their bodies reach ``chars`` characters:
    a batch is analyzed as arrays of all its characters at once, so its text bounds the memory."""
    batch: list[Row] = []
    held = 0
    for row in rows:
        batch.append(row)
        held += len(row[2])
        if len(batch) >= size or held >= chars:
            yield batch
            batch = []
            held = 0
    if batch:
        yield batch


def bounded_body(body: str, limit: int = MAX_ARTICLE_CHARS) -> str:
    """``body`` whole, or cut to at most ``limit`` characters at its last paragraph break (else its
    last space) before the limit."""
    if len(body) <= limit:
        return body
    cut = body.rfind("\n\n", 0, limit)
    if cut <= 0:
        cut = body.rfind(" ", 0, limit)
    return body[: cut if cut > 0 else limit]
