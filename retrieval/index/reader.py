"""A snapshot folder opened for answering: memory-mapped tables behind three small readers.

:class:`Snapshot` holds the manifest's facts and the analyzer, and three readers that a search
uses at different moments: :class:`TermIndex` for the first stage (vocabulary, idf, the BM25
engine), :class:`TokenTable` for the rerank (each passage's analyzed terms) and
:class:`PassageTable` for what is shown (texts, titles, links, sentences). Loading costs a few
system calls whatever the corpus size; pages are shared between processes serving the snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import quote

import numpy as np

from retrieval.index.arrays import OFFSET_DTYPE, BlobReader, StringTable, map_array
from retrieval.index.bm25 import Bm25Index, BM25Params
from retrieval.index.format import FILES, Manifest, damaged
from retrieval.index.spelling import SpellingIndex
from retrieval.lru import LruCache
from retrieval.text.analysis import Analyzer

# Wiki-style paths stay readable: only characters that would break a URL are escaped.
_LINK_SAFE = "/:()_,!*'-.~@$;"
_TOKEN_BYTES = np.dtype(np.int32).itemsize
# Term lookups remembered per snapshot (a few tens of MB at most).
LOOKUP_CACHE = 200_000


@dataclass(frozen=True)
class SnapshotInfo:
    version: str
    path: Path
    built_at: str
    articles: int
    passages: int
    vocabulary: int
    size_bytes: int
    fingerprint: str
    semantic: tuple[str, ...] = ()  # the models whose passage vectors it holds


@dataclass(frozen=True, slots=True)
class StoredPassage:
    """A passage as stored in the snapshot; ``sentences`` are spans relative to ``text``."""

    passage_id: int
    article_id: str
    title: str
    link: str
    text: str
    start: int
    end: int
    ordinal: int
    sentences: tuple[tuple[int, int], ...]


def article_link(source_url: str, article_id: str) -> str:
    """The article's source page: ``source_url`` with ``{article_id}`` filled in, URL-escaped."""
    return source_url.replace("{article_id}", quote(article_id, safe=_LINK_SAFE))


class TermVocabulary(Mapping[str, int]):
    """term -> term id, looked up by binary search over the stored terms (nothing to load up front).

    A million-term dict takes ~0.5 s to build from disk; a question needs a handful of lookups.
    Each lookup is remembered (known and unknown terms alike): a binary search reads a stored
    term per probe, ~20 probes costing tens of microseconds, and every answer looks the same
    question terms up several times (search, coverage, spelling), as later questions reuse them.
    """

    def __init__(self, terms: StringTable, sorted_ids: np.ndarray) -> None:
        self._terms = terms
        # A plain array: indexing an ``np.memmap`` goes through Python code on every probe.
        self._sorted = np.asarray(sorted_ids)
        self._known: LruCache[str, int | None] = LruCache(LOOKUP_CACHE)

    def get(self, term: str, default: int | None = None) -> int | None:
        term_id = self._known.lookup(term, self._search)
        return default if term_id is None else term_id

    def __getitem__(self, term: str) -> int:
        term_id = self.get(term)
        if term_id is None:
            raise KeyError(term)
        return term_id

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self.get(term) is not None

    def _search(self, term: str) -> int | None:
        key = term.encode("utf-8", "surrogatepass")
        terms, order = self._terms, self._sorted
        lo, hi = 0, len(order)
        while lo < hi:
            mid = (lo + hi) // 2
            if terms.raw(int(order[mid])) < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(order) and terms.raw(int(order[lo])) == key:
            return int(order[lo])
        return None

    def __iter__(self) -> Iterator[str]:
        return (self._terms[i] for i in range(len(self._terms)))

    def __len__(self) -> int:
        return len(self._terms)

    def term(self, term_id: int) -> str:
        return self._terms[term_id]


class TermIndex:
    """The first stage: the vocabulary, each term's idf, each passage's bag length, and the
    BM25 matrix that ranks passages for a bag of term ids."""

    def __init__(self, folder: Path, passages: int) -> None:
        path = folder.joinpath
        self.vocab = TermVocabulary(
            StringTable(path(FILES["terms"]), path(FILES["term_offsets"]), mapped=True),
            np.load(path(FILES["terms_sorted"]), mmap_mode="r"),
        )
        self.idf: np.ndarray = np.load(path(FILES["idf"]), mmap_mode="r")
        # The weight of a word the corpus lacks (as rare as the rarest it has): read for every
        # such question word, so the vocabulary is scanned once, not per question.
        self.max_idf = float(self.idf.max()) if len(self.idf) else 1.0
        self.doc_lengths: np.ndarray = np.load(path(FILES["doc_len"]), mmap_mode="r")
        self._engine = Bm25Index.load(folder / FILES["bm25s"], passages)

    def first_stage(self, term_ids: Sequence[int] | np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(passage ids, BM25 scores) of the ``n`` best passages, best first."""
        return self._engine.top(term_ids, n)

    def accelerate(self) -> bool:
        """Use the compiled first-stage kernel (numba) if installed; for long-running processes."""
        return self._engine.accelerate()

    def term_ids(self, terms: Sequence[str]) -> list[int]:
        """Ids of the analyzed ``terms`` the corpus knows, repeats kept (unknown ones dropped)."""
        vocab = self.vocab
        return [i for i in (vocab.get(t) for t in terms) if i is not None]


class TokenTable:
    """Each passage's term ids in text order and where its sentences start among them: what the
    rerank reads. Tokens are read with ``pread`` (see :class:`~retrieval.index.arrays.BlobReader`)."""

    def __init__(self, folder: Path, sentence_offsets: np.ndarray) -> None:
        path = folder.joinpath
        self._tokens = BlobReader(path(FILES["tokens"]))
        self._token_offsets = map_array(path(FILES["token_offsets"]), OFFSET_DTYPE)
        self._sentence_tokens = map_array(path(FILES["sentence_tokens"]), np.int32)
        self._sentence_offsets = sentence_offsets

    def passage_tokens(self, pid: int) -> np.ndarray:
        """Term ids of ``analyzer.terms(passage.text)``, in order."""
        start, end = self._token_offsets[pid], self._token_offsets[pid + 1]
        return np.frombuffer(self._tokens.read(start * _TOKEN_BYTES, end * _TOKEN_BYTES), np.int32)

    def passages_tokens(self, pids: np.ndarray) -> TokenBatch:
        """:meth:`passage_tokens` of many passages, each run of consecutive ids in one read.

        A search reads its candidates and their article neighbours, so most runs hold three
        passages: one ``pread`` per run instead of one per passage. The offset arithmetic is done
        for all runs at once, and the runs' bytes are joined into one array that each passage's
        tokens are a slice of.
        """
        unique = np.unique(np.asarray(pids, dtype=np.int64))
        if len(unique) == 0:
            return TokenBatch(unique, np.zeros(0, np.int32), np.zeros(1, np.int64))
        starts = self._token_offsets[unique]
        ends = self._token_offsets[unique + 1]
        first = np.flatnonzero(np.diff(unique, prepend=unique[0] - 2) != 1)
        last = np.append(first[1:], len(unique)) - 1
        run_starts = (starts[first] * _TOKEN_BYTES).tolist()
        run_ends = (ends[last] * _TOKEN_BYTES).tolist()
        runs = b"".join(self._tokens.read(a, b) for a, b in zip(run_starts, run_ends, strict=True))
        cuts = np.concatenate(([0], np.cumsum(ends - starts))).astype(np.int64)
        return TokenBatch(unique, np.frombuffer(runs, np.int32), cuts)

    def sentence_token_starts(self, pid: int) -> np.ndarray:
        """For each sentence of the passage, the index in :meth:`passage_tokens` where it starts."""
        return self._sentence_tokens[self._sentence_offsets[pid] : self._sentence_offsets[pid + 1]]

    def sentences_token_starts(self, pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`sentence_token_starts` of many passages in one gather: all of them joined, and
        how many sentences each passage has."""
        pids = np.asarray(pids, dtype=np.int64)
        first = np.asarray(self._sentence_offsets[pids], dtype=np.int64)
        counts = np.asarray(self._sentence_offsets[pids + 1], dtype=np.int64) - first
        rows = np.repeat(first - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
        return np.asarray(self._sentence_tokens[rows], dtype=np.int64), counts


class TokenBatch:
    """The tokens of a set of passages read together (:meth:`TokenTable.passages_tokens`): one
    passage's, or several passages' joined, which the rerank matches in one pass."""

    def __init__(self, pids: np.ndarray, tokens: np.ndarray, cuts: np.ndarray) -> None:
        """``pids`` sorted and distinct; passage ``pids[i]`` is ``tokens[cuts[i]:cuts[i + 1]]``."""
        self._row = {pid: row for row, pid in enumerate(pids.tolist())}
        self._pids = pids
        self._tokens = tokens
        self._cuts = cuts

    def __len__(self) -> int:
        return len(self._pids)

    def of(self, pid: int) -> np.ndarray:
        row = self._row[pid]
        return self._tokens[self._cuts[row] : self._cuts[row + 1]]

    def joined(self, pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tokens of ``pids`` (all in the batch) one after another, and each one's count."""
        rows = np.searchsorted(self._pids, np.asarray(pids, dtype=np.int64))
        starts = self._cuts[rows]
        counts = self._cuts[rows + 1] - starts
        index = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(int(counts.sum()))
        return self._tokens[index], counts


class PassageTable:
    """What a passage is shown with: its text, its article's id, title and link, where it lies in
    the article, and its sentences."""

    def __init__(self, folder: Path, source_url: str, sentence_offsets: np.ndarray) -> None:
        path = folder.joinpath
        self.source_url = source_url
        self._texts = StringTable(path(FILES["texts"]), path(FILES["text_offsets"]))
        self._article_ids = StringTable(path(FILES["article_ids"]), path(FILES["article_id_offsets"]))
        self._titles = StringTable(path(FILES["titles"]), path(FILES["title_offsets"]))
        self._meta = map_array(path(FILES["meta"]), np.int32).reshape(-1, 4)
        self._sentences = map_array(path(FILES["sentences"]), np.int32).reshape(-1, 2)
        self._sentence_offsets = sentence_offsets

    def __len__(self) -> int:
        return len(self._meta)

    def get(self, pid: int) -> StoredPassage:
        article, ordinal, start, end = (int(v) for v in self._meta[pid])
        article_id = self._article_ids[article]
        return StoredPassage(
            passage_id=int(pid),
            article_id=article_id,
            title=self._titles[article],
            link=article_link(self.source_url, article_id),
            text=self._texts[pid],
            start=start,
            end=end,
            ordinal=ordinal,
            sentences=self.sentence_spans(pid),
        )

    def text(self, pid: int) -> str:
        """The passage's text alone."""
        return self._texts[pid]

    def title(self, pid: int) -> str:
        """The passage's article title, without decoding the rest of the passage."""
        return self._titles[int(self._meta[pid, 0])]

    def sentence_spans(self, pid: int) -> tuple[tuple[int, int], ...]:
        """``(start, end)`` of each sentence of the passage, relative to its text."""
        first, last = self._sentence_offsets[pid], self._sentence_offsets[pid + 1]
        return tuple(map(tuple, self._sentences[first:last].tolist()))

    def article_index(self, pid: int) -> int:
        """Dense article number of a passage (for capping hits per article without decoding ids)."""
        return int(self._meta[pid, 0])

    def article_opening(self, pid: int) -> int:
        """The first passage of passage ``pid``'s article (an article's passages are stored
        together, in order, each with its ordinal)."""
        return pid - int(self._meta[pid, 1])

    def article_indexes(self, pids: np.ndarray) -> np.ndarray:
        """:meth:`article_index` of each of ``pids``."""
        return np.asarray(self._meta[:, 0][np.asarray(pids, dtype=np.int64)], dtype=np.int64)

    def bounds(self, pids: np.ndarray) -> np.ndarray:
        """``(article index, start, end)`` rows of ``pids``: where each passage lies in its
        article, for telling overlapping passages apart without decoding them."""
        return np.asarray(self._meta[np.asarray(pids, dtype=np.int64)][:, [0, 2, 3]], dtype=np.int64)


class Snapshot:
    """A loaded snapshot: its manifest's facts, its analyzer and its three readers. (The vectors
    a semantic build adds are the semantic stage's to open: ``retrieval.search.semantic``.)

    Raises :class:`SnapshotError` when the folder is not a whole snapshot of this format (a file
    missing, truncated or altered, a manifest that cannot be read). Every snapshot is served from
    its BM25 matrix, including one an older version built with ``--engine rank-bm25``: such a
    manifest's ``engine`` key and its ``bags.*`` files are checked like any file and otherwise
    ignored.
    """

    def __init__(self, folder: Path) -> None:
        manifest = Manifest.read(folder)
        manifest.check_files(folder)
        self.manifest = manifest
        self.folder = folder
        try:
            self.analyzer = Analyzer.from_dict(manifest.analyzer)
            self.params = BM25Params.from_dict(manifest.bm25)
        except (KeyError, TypeError, ValueError) as err:
            raise damaged(folder, f"its settings cannot be read: {err}") from None
        self.source_url = manifest.source_url
        self.avgdl = manifest.avgdl
        self.info = SnapshotInfo(
            version=manifest.version,
            path=folder,
            built_at=manifest.built_at,
            articles=manifest.articles,
            passages=manifest.passages,
            vocabulary=manifest.vocabulary,
            size_bytes=manifest.size_bytes,
            fingerprint=manifest.fingerprint,
            semantic=tuple(str(model.get("model", role)) for role, model in manifest.semantic.items()),
        )
        try:
            sentence_offsets = map_array(folder / FILES["sentence_offsets"], OFFSET_DTYPE)
            self.passages = PassageTable(folder, self.source_url, sentence_offsets)
            self.tokens = TokenTable(folder, sentence_offsets)
            self.index = TermIndex(folder, self.info.passages)
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise damaged(folder, str(err)) from None
        if len(self.passages) != self.info.passages:
            stored = len(self.passages)
            raise damaged(folder, f"{stored} passages stored, the manifest says {self.info.passages}")

    def __len__(self) -> int:
        return self.info.passages

    @cached_property
    def spelling(self) -> SpellingIndex:
        """The "did you mean" index of the corpus's words, built with the snapshot."""
        return SpellingIndex(self.folder)
