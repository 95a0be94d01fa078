"""The steps of ``benchmarks/search.py``, each run in a fresh interpreter so that its peak memory is
its own (:func:`run_task`, reached through ``search.py _child TASK ARGS...``).

Each takes its arguments as strings and returns its figures. Their imports are inside them, so the
parent loads none of what it measures.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.lib.latency import percentiles, timings
from benchmarks.lib.processes import report, rss_split
from benchmarks.lib.search_corpus import SEED, in_cyrillic, make_questions
from retrieval.index.publish import CURRENT

TOP = 100
SOURCE_URL = "https://example.org/{article_id}"


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _search_latency(searcher, questions: list[str]) -> dict:
    """Percentiles of a full ``Searcher.search`` (top 5) over ``questions``."""
    return percentiles(timings(lambda question: searcher.search(question, 5), questions))


def task_wikiqa_build(store_path: str, snapshots: str) -> dict:
    import wikiqa

    store = wikiqa.ArticleStore(f"sqlite:///{store_path}")
    started = time.perf_counter()
    info = wikiqa.build_snapshot(store, Path(snapshots), source_url=SOURCE_URL)
    return {
        "build_s": round(time.perf_counter() - started, 2),
        "passages": info.passages,
        "vocabulary": info.vocabulary,
        "size_mb": round(info.size_bytes / 1e6, 1),
    }


def warm_page_cache(snapshots: str) -> None:
    """Read every file of the live snapshot once, so that a search reads memory, not disk, as on a
    machine that has served for a while: after a multi-gigabyte build, parts of its files may
    have left the page cache, and the latencies would depend on which (a cold start is the
    README's separate figure)."""
    for path in sorted((Path(snapshots) / CURRENT).resolve().rglob("*")):
        if path.is_file():
            with open(path, "rb") as file:
                while file.read(1 << 22):
                    pass


def _fresh_load(snapshots: str) -> tuple[Any, dict]:
    """The live snapshot of ``snapshots``, loaded as a fresh bot process loads it (its files read
    through first), and the seconds the import and the load took."""
    warm_page_cache(snapshots)
    started = time.perf_counter()
    import wikiqa

    imported = time.perf_counter()
    snapshot = wikiqa.load_snapshot(Path(snapshots))
    loaded = time.perf_counter()
    return snapshot, {"import_s": round(imported - started, 3), "load_s": round(loaded - imported, 4)}


def task_wikiqa_serve(snapshots: str, questions: str) -> dict:
    snapshot, load = _fresh_load(snapshots)  # first: it times the import
    import wikiqa

    asked = make_questions(int(questions))
    ids = [np.unique(snapshot.index.term_ids(snapshot.analyzer.terms(q))) for q in asked]

    def first_stage_latency() -> dict:
        return percentiles(timings(lambda query: snapshot.index.first_stage(query, TOP), ids))

    result = {**load, "first_stage": first_stage_latency()}
    t = time.perf_counter()
    if snapshot.index.accelerate():
        result["accelerate_s"] = round(time.perf_counter() - t, 2)
        result["first_stage_numba"] = first_stage_latency()
    result["search"] = _search_latency(wikiqa.Searcher(snapshot, cache_size=0), asked)
    return {**result, **rss_split()}  # while the snapshot is still open


def _passage_texts(snapshots: str) -> list[str]:
    import wikiqa

    snapshot = wikiqa.load_snapshot(Path(snapshots))
    return [snapshot.passages.text(i) for i in range(len(snapshot))]


def _bm25s_tokens(texts: list[str]):
    import bm25s
    import Stemmer

    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), show_progress=False)


def _bm25s_query(question: str, stemmer) -> list[str]:
    import bm25s

    return bm25s.tokenize([question], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)[
        0
    ]


def task_bm25s_build(snapshots: str, index_dir: str) -> dict:
    import bm25s

    texts = _passage_texts(snapshots)
    started = time.perf_counter()
    tokens = _bm25s_tokens(texts)
    del texts
    model = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    model.index(tokens, show_progress=False)
    model.save(index_dir, show_progress=False)
    return {
        "build_s": round(time.perf_counter() - started, 2),
        "size_mb": round(_folder_bytes(Path(index_dir)) / 1e6, 1),
    }


def task_bm25s_serve(index_dir: str, backend: str, questions: str) -> dict:
    import bm25s
    import Stemmer

    started = time.perf_counter()
    model = bm25s.BM25.load(index_dir, mmap=True, backend=backend, show_progress=False)
    loaded = time.perf_counter()
    stemmer = Stemmer.Stemmer("english")
    queries = [model.get_tokens_ids(_bm25s_query(q, stemmer)) for q in make_questions(int(questions))]
    queries = [ids for ids in queries if ids]  # a question of words the corpus lacks has none

    def retrieve(query: list[int]) -> None:
        model.retrieve([query], k=TOP, show_progress=False, n_threads=1)

    warm = time.perf_counter()
    retrieve(queries[0])
    warmed = time.perf_counter()
    return {
        "load_s": round(loaded - started, 4),
        "warmup_s": round(warmed - warm, 2),
        "first_stage": percentiles(timings(retrieve, queries)),
        **rss_split(),  # while the model is still loaded
    }


def task_rank_bm25(snapshots: str) -> dict:
    import Stemmer
    from rank_bm25 import BM25Okapi

    texts = _passage_texts(snapshots)
    tokens = _bm25s_tokens(texts)
    inverse = {i: t for t, i in tokens.vocab.items()}
    corpus = [[inverse[i] for i in doc] for doc in tokens.ids]
    del texts, tokens
    started = time.perf_counter()
    model = BM25Okapi(corpus, k1=1.2, b=0.75)
    built = time.perf_counter()
    stemmer = Stemmer.Stemmer("english")
    queries = [_bm25s_query(question, stemmer) for question in make_questions(30)]

    def first_stage(query: list[str]) -> None:
        np.argpartition(-model.get_scores(query), TOP)[:TOP]

    return {"build_s": round(built - started, 2), "first_stage": percentiles(timings(first_stage, queries))}


class RandomEncoder:
    """Stands in for the model in a semantic build: seeded random unit rows of its width, which a
    search reads exactly as it reads real ones (a million passages take hours to embed)."""

    def __init__(self, width: int, seed: int) -> None:
        self.width = width
        self._rng = np.random.default_rng(seed)

    def passages(self, texts: list[str]) -> np.ndarray:
        rows = self._rng.standard_normal((len(texts), self.width), dtype=np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        return rows


def task_semantic_build(store_path: str, semantic_dir: str) -> dict:
    """The store built into ``semantic_dir`` with the embedding stage, as a reindex builds it, the
    model's vectors stood in for by :class:`RandomEncoder`'s: passage and sentence vectors and
    their keys, and the nearest-neighbour index from ``ANN_FROM_PASSAGES`` passages on."""
    import wikiqa
    from retrieval.index.format import ann_file, sentence_vectors_file, vectors_file
    from retrieval.semantic.embed import EmbeddingStage
    from retrieval.semantic.encoders import ROLE, describe, installed
    from retrieval.semantic.vectors import table_files

    if not installed():
        return {"skipped": "no semantic model installed"}
    root = Path(semantic_dir)
    shutil.rmtree(root, ignore_errors=True)  # else its vectors would be reused, not made
    width = int(describe()["dimensions"])
    stage = EmbeddingStage(encoder=RandomEncoder(width, SEED))
    store = wikiqa.ArticleStore(f"sqlite:///{store_path}")
    started = time.perf_counter()
    info = wikiqa.build_snapshot(store, root, source_url=SOURCE_URL, stages=(stage,))
    build_s = time.perf_counter() - started
    tables = [vectors_file(ROLE), sentence_vectors_file(ROLE)]
    vectors = [info.path / name for table in tables for name in table_files(info.path, table)]
    ann = info.path / ann_file(ROLE)
    return {
        "build_s": round(build_s, 2),
        "passages": info.passages,
        "dimensions": width,
        "vectors_mb": round(sum(path.stat().st_size for path in vectors) / 1e6, 1),
        **({"ann_mb": round(ann.stat().st_size / 1e6, 1)} if ann.exists() else {}),
        "size_mb": round(info.size_bytes / 1e6, 1),
    }


def task_semantic_reindex(store_path: str, semantic_dir: str) -> dict:
    """``wikiqa reindex`` of the unchanged store into the semantic snapshots folder: every vector is
    found in the live snapshot, so nothing is embedded (the lexical build's time is its peer)."""
    import wikiqa
    from retrieval.semantic.embed import EmbeddingStage

    embedded: list[int] = []
    store = wikiqa.ArticleStore(f"sqlite:///{store_path}")
    started = time.perf_counter()
    stage = EmbeddingStage(on_progress=lambda table, count, total: embedded.append(count))
    wikiqa.build_snapshot(store, Path(semantic_dir), source_url=SOURCE_URL, stages=(stage,))
    return {"reindex_s": round(time.perf_counter() - started, 2), "embedded": sum(embedded)}


def task_semantic_serve(semantic_dir: str, questions: str) -> dict:
    """Load and search the semantic snapshot as the bot does: English questions re-scored by
    cosine, Cyrillic ones found by their vectors."""
    snapshot, load = _fresh_load(semantic_dir)  # first: it times the import
    import wikiqa
    from retrieval.semantic.encoders import encoder

    loaded = time.perf_counter()
    snapshot.index.accelerate()  # the numba kernel where installed, as the bot's answer workers load it
    accelerated = time.perf_counter()
    model = encoder()
    model.queries(["warm up"])  # else loaded by the first question: the bot warms it up
    warmed = time.perf_counter()
    searcher = wikiqa.Searcher(snapshot, cache_size=0)
    english = make_questions(int(questions))
    foreign = in_cyrillic(english)
    assert searcher.semantic is not None, "the snapshot's vectors are not read"
    assert all(searcher.is_cross_lingual(q) for q in foreign), "a Cyrillic question read as English"
    result: dict = {
        **load,
        "accelerate_s": round(accelerated - loaded, 2),
        "model_s": round(warmed - accelerated, 2),
        "question_embedding": percentiles(timings(lambda q: model.queries([q]), english + foreign)),
        "search": _search_latency(searcher, english),
        "search_foreign": _search_latency(searcher, foreign),
    }
    return {**result, **rss_split()}  # while the snapshot is still open


TASKS = {
    "wikiqa-build": task_wikiqa_build,
    "wikiqa-serve": task_wikiqa_serve,
    "bm25s-build": task_bm25s_build,
    "bm25s-serve": task_bm25s_serve,
    "rank-bm25": task_rank_bm25,
    "semantic-build": task_semantic_build,
    "semantic-serve": task_semantic_serve,
    "semantic-reindex": task_semantic_reindex,
}


def run_task(name: str, args: list[str]) -> None:
    """Run the task ``name`` in this (child) process and report its figures to the parent."""
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    report(TASKS[name](*args))
