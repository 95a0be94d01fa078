"""Speed and memory of wikiqa's index against plain bm25s and rank-bm25, on synthetic corpora.

Generates seeded corpora of about 10k, 100k and 1M passages (~120 words each, Zipf-distributed
vocabulary with English stop words at the top ranks, five paragraphs per article) into SQLite
stores, then measures, each step in its own child process so peak memory is that step's alone:

- wikiqa: ``build_snapshot`` time, snapshot size, peak RSS of the build (the builder and its
  worker processes summed, sampled every 20 ms), CPU seconds, and how long its processes waited
  for a CPU (other load on the machine: wall time then says little, CPU time still does);
  fresh-process load time, first-stage latency (top 100) and full ``Searcher.search`` latency
  (top 5), RSS while serving;
- plain bm25s (its own tokenizer with English stop words and stemming): build, size, peak RSS,
  then load with mmap and first-stage latency (top 100) with its numpy and numba backends;
- rank-bm25 ``BM25Okapi``: build and ``get_scores`` + top 100 latency, at the smallest size only;
- the semantic stage (unless --no-semantic), in a second table. Embedding a million passages
  takes hours on a small machine, so the snapshot's passage vectors are seeded random unit rows
  of the model's width, which a search reads exactly as it reads real ones: the wikiqa snapshot
  hard-linked into a sibling folder with those vectors, their faiss IVF index from
  ``ANN_FROM_PASSAGES`` passages on (its build time), the manifest rewritten (the time to
  checksum every file, as a reindex that embedded them does), the size on disk; then
  fresh-process load time and the model's load time, question embedding time, full
  ``Searcher.search`` latency (top 5) for the synthetic English questions (lexical, then cosine
  rescoring) and for the same questions spelled in Cyrillic letters (dense retrieval fused with
  BM25), RSS while serving, and the time and peak RSS of a reindex of the unchanged store (which
  embeds nothing), beside the lexical snapshot's figures. Embedding throughput on real text is
  ``benchmarks/embedding.py``'s.

Usage::

    .venv/bin/python benchmarks/search.py                  # 10k and 100k
    .venv/bin/python benchmarks/search.py --sizes 10k,100k,1M --out bench.json

Corpora and indexes are cached in --workdir (default /tmp/wikiqa-bench). Single thread
everywhere for latency. "Cold" load is a fresh process with the page cache warm. --out writes
``{"sizes": [one object per size]}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSAGE_WORDS = 120
PARAGRAPHS_PER_ARTICLE = 5
VOCABULARY = 200_000
ZIPF_EXPONENT = 1.05
QUESTIONS = 300
TOP = 100
SEED = 2024
CORES = os.cpu_count() or 1
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1M": 1_000_000}  # 1k: a smoke run (the tests)
EVAL = ROOT.parent / "shared" / "eval"
VECTOR_CHUNK = 65_536  # rows of random vectors generated at a time (128 MB of float32 at 512 wide)
# Latin letters spelled in Cyrillic, so a synthetic question reads as a Russian one would.
_LATIN_TO_CYRILLIC = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz",
        ("а", "б", "ц", "д", "е", "ф", "г", "х", "и", "й", "к", "л", "м", "н", "о", "п", "к", "р", "с", "т",
         "у", "в", "в", "кс", "ы", "з"),
        strict=True,
    )
)  # fmt: skip
_CYRILLIC = str.maketrans(
    {**_LATIN_TO_CYRILLIC, **{a.upper(): b.capitalize() for a, b in _LATIN_TO_CYRILLIC.items()}}
)


# -- corpus ------------------------------------------------------------------------------------


def _vocabulary(rng: np.random.Generator) -> list[str]:
    """Stop words first (the most frequent ranks, as in English), then made-up words of one to
    three consonant-vowel syllables, half with a closing consonant, drawn in whole arrays (drawn
    a word at a time, the 200,000 took 15 s of every run, a tiny one included)."""
    from retrieval.text.analysis import ENGLISH_STOP_WORDS

    stop = [w for w in ENGLISH_STOP_WORDS if len(w) > 1][:100]
    consonants, vowels = np.array(list("bcdfghklmnprstvz")), np.array(list("aeiou"))
    words, seen = list(stop), set(stop)
    while len(words) < VOCABULARY:
        n = 2 * (VOCABULARY - len(words))
        syllables = np.char.add(rng.choice(consonants, (n, 3)), rng.choice(vowels, (n, 3)))
        one = syllables[:, 0]
        two = np.char.add(one, syllables[:, 1])
        three = np.char.add(two, syllables[:, 2])
        count = rng.integers(1, 4, n)
        stems = np.where(count == 1, one, np.where(count == 2, two, three))
        closing = np.where(rng.random(n) < 0.5, rng.choice(consonants, n), "")
        for word in np.char.add(stems, closing).tolist():
            if word not in seen and len(words) < VOCABULARY:
                seen.add(word)
                words.append(word)
    return words


def _cdf() -> np.ndarray:
    weights = 1.0 / np.arange(1, VOCABULARY + 1) ** ZIPF_EXPONENT
    return np.cumsum(weights / weights.sum())


def _paragraph(words: list[str], ids: np.ndarray) -> str:
    chosen = [words[i] for i in ids.tolist()]
    for end in range(14, len(chosen), 15):
        chosen[end] += "."
    chosen[-1] += "."
    text = " ".join(chosen)
    return text[0].upper() + text[1:]


def make_corpus(passages: int, path: Path) -> None:
    """A SQLite store of ``passages / 5`` articles of five ~120-word paragraphs each."""
    from retrieval.storage.articles import ArticleStore
    from retrieval.storage.records import ArticleRecord

    rng = np.random.default_rng(SEED)
    words = _vocabulary(rng)
    cdf = _cdf()
    articles = passages // PARAGRAPHS_PER_ARTICLE

    def records():
        for start in range(0, articles, 1000):
            count = min(1000, articles - start)
            lengths = rng.integers(
                PASSAGE_WORDS - 20, PASSAGE_WORDS + 20, size=count * PARAGRAPHS_PER_ARTICLE
            )
            ids = np.searchsorted(cdf, rng.random(int(lengths.sum())))
            bounds = np.concatenate(([0], np.cumsum(lengths)))
            for a in range(count):
                paragraphs = [
                    _paragraph(words, ids[bounds[p] : bounds[p + 1]])
                    for p in range(a * PARAGRAPHS_PER_ARTICLE, (a + 1) * PARAGRAPHS_PER_ARTICLE)
                ]
                title = " ".join(words[i] for i in rng.integers(100, 20_000, size=2)).title()
                yield ArticleRecord(f"A{start + a}", title, "\n\n".join(paragraphs), None)

    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    store = ArticleStore(f"sqlite:///{tmp}")
    store.upsert(records(), source="synthetic")
    store.close()
    tmp.rename(path)


def make_questions(count: int) -> list[str]:
    """Questions of 2-6 content words drawn from the corpus distribution, wrapped in stop words."""
    rng = np.random.default_rng(SEED + 1)
    words = _vocabulary(np.random.default_rng(SEED))
    cdf = _cdf()
    questions = []
    for _ in range(count):
        ids = np.searchsorted(cdf, rng.random(40))
        content = [words[i] for i in ids if i >= 100][: rng.integers(2, 7)]
        questions.append("What is the " + " ".join(content) + " of it?")
    return questions


def in_cyrillic(questions: list[str]) -> list[str]:
    """The questions spelled in Cyrillic letters: foreign to the corpus, as a Russian question is."""
    return [question.translate(_CYRILLIC) for question in questions]


# -- child tasks -------------------------------------------------------------------------------


def _percentiles(samples: list[float]) -> dict:
    ms = np.asarray(samples) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
    }


def _search_latency(searcher, questions: list[str]) -> dict:
    """Percentiles of a full ``Searcher.search`` (top 5) over ``questions``."""
    samples = []
    for question in questions:
        t = time.perf_counter()
        searcher.search(question, 5)
        samples.append(time.perf_counter() - t)
    return _percentiles(samples)


def _status_mb(*names: str) -> dict[str, float]:
    """Fields of /proc/self/status given in kB, in MB (none where there is no /proc)."""
    fields = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in names:
                fields[name] = int(value.split()[0]) / 1024
    return fields


def _self_rss_mb() -> float:
    """This process's peak RSS. Linux's ``ru_maxrss`` would not do: a spawned child starts from
    its parent's high-water mark (this script's), while the memory map's ``VmHWM`` starts afresh."""
    peak = _status_mb("VmHWM").get("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_split() -> dict:
    """Resident memory now: private (anonymous) vs file-backed pages (mmapped index, shared and
    reclaimable by the kernel)."""
    return {f"{name.lower()}_mb": round(mb, 1) for name, mb in _status_mb("RssAnon", "RssFile").items()}


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def task_wikiqa_build(store_path: str, snapshots: str) -> dict:
    from retrieval.index.build import build_snapshot
    from retrieval.storage.articles import ArticleStore

    store = ArticleStore(f"sqlite:///{store_path}")
    started = time.perf_counter()
    info = build_snapshot(store, Path(snapshots), source_url="https://example.org/{article_id}")
    return {
        "build_s": round(time.perf_counter() - started, 2),
        "passages": info.passages,
        "vocabulary": info.vocabulary,
        "size_mb": round(info.size_bytes / 1e6, 1),
    }


def task_wikiqa_serve(snapshots: str) -> dict:
    started = time.perf_counter()
    from retrieval.index.publish import load_snapshot

    imported = time.perf_counter()
    snapshot = load_snapshot(Path(snapshots))
    loaded = time.perf_counter()
    questions = make_questions(QUESTIONS)
    ids = [np.unique(snapshot.index.term_ids(snapshot.analyzer.terms(q))) for q in questions]

    def first_stage_latency() -> dict:
        samples = []
        for query in ids:
            t = time.perf_counter()
            snapshot.index.first_stage(query, TOP)
            samples.append(time.perf_counter() - t)
        return _percentiles(samples)

    result = {
        "import_s": round(imported - started, 3),
        "load_s": round(loaded - imported, 4),
        "first_stage": first_stage_latency(),
    }
    t = time.perf_counter()
    if snapshot.index.accelerate():
        result["accelerate_s"] = round(time.perf_counter() - t, 2)
        result["first_stage_numba"] = first_stage_latency()
    try:
        from retrieval.search.searcher import Searcher
    except ImportError:
        return {**result, **_rss_split()}
    result["search"] = _search_latency(Searcher(snapshot, cache_size=0), questions)
    return {**result, **_rss_split()}  # while the snapshot is still open


def _passage_texts(snapshots: str) -> list[str]:
    from retrieval.index.publish import load_snapshot

    snapshot = load_snapshot(Path(snapshots))
    return [snapshot.passages.text(i) for i in range(len(snapshot))]


def _bm25s_tokens(texts: list[str]):
    import bm25s
    import Stemmer

    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), show_progress=False)


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


def task_bm25s_serve(index_dir: str, backend: str) -> dict:
    import bm25s
    import Stemmer

    started = time.perf_counter()
    model = bm25s.BM25.load(index_dir, mmap=True, backend=backend, show_progress=False)
    loaded = time.perf_counter()
    stemmer = Stemmer.Stemmer("english")
    queries = []
    for question in make_questions(QUESTIONS):
        tokens = bm25s.tokenize(
            [question], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
        )[0]
        ids = model.get_tokens_ids(tokens)
        if ids:
            queries.append(ids)
    warm = time.perf_counter()
    model.retrieve([queries[0]], k=TOP, show_progress=False, n_threads=1)
    warmed = time.perf_counter()
    samples = []
    for query in queries:
        t = time.perf_counter()
        model.retrieve([query], k=TOP, show_progress=False, n_threads=1)
        samples.append(time.perf_counter() - t)
    return {
        "load_s": round(loaded - started, 4),
        "warmup_s": round(warmed - warm, 2),
        "first_stage": _percentiles(samples),
        **_rss_split(),  # while the model is still loaded
    }


def task_rank_bm25(snapshots: str) -> dict:
    from rank_bm25 import BM25Okapi

    texts = _passage_texts(snapshots)
    tokens = _bm25s_tokens(texts)
    inverse = {i: t for t, i in tokens.vocab.items()}
    corpus = [[inverse[i] for i in doc] for doc in tokens.ids]
    del texts, tokens
    started = time.perf_counter()
    model = BM25Okapi(corpus, k1=1.2, b=0.75)
    built = time.perf_counter()
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    samples = []
    for question in make_questions(30):
        query = bm25s.tokenize(
            [question], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
        )[0]
        t = time.perf_counter()
        scores = model.get_scores(query)
        np.argpartition(-scores, TOP)[:TOP]
        samples.append(time.perf_counter() - t)
    return {"build_s": round(built - started, 2), "first_stage": _percentiles(samples)}


def _link_snapshot(source: Path, target: Path) -> None:
    """``source``'s files hard-linked into ``target``, all but its manifest, which is rewritten
    (writing through a link to the lexical snapshot's manifest would damage that snapshot)."""
    from retrieval.index.format import MANIFEST

    shutil.copytree(
        source,
        target,
        copy_function=os.link,
        ignore=lambda folder, _: [MANIFEST] if Path(folder) == source else [],
    )


def _random_unit_rows(folder: Path, name: str, rows: int, width: int, seed: int):
    """The table ``name`` of seeded random unit vectors, stored as a snapshot stores vectors (int8
    codes and their scales), generated a chunk at a time."""
    from retrieval.semantic.vectors import new_table, open_table, quantize

    rng = np.random.default_rng(seed)
    with new_table(folder, name, rows, width) as (codes, scales):
        for start in range(0, rows, VECTOR_CHUNK):
            chunk = rng.standard_normal((min(VECTOR_CHUNK, rows - start), width), dtype=np.float32)
            chunk /= np.linalg.norm(chunk, axis=1, keepdims=True)
            codes[start : start + len(chunk)], scales[start : start + len(chunk)] = quantize(chunk)
    return open_table(folder, name, rows, width)


def _add_vectors(folder: Path, passages: int, sentences: int, width: int) -> tuple[dict, dict]:
    """Random passage and sentence vectors, and the keys, into ``folder`` (and the nearest-
    neighbour index when the corpus is large enough to get one): (the manifest's ANN entry, figures)."""
    from retrieval.index.format import FILES, ann_file, scales_file, sentence_vectors_file, vectors_file
    from retrieval.semantic.ann import ANN_FROM_PASSAGES, build_ivf
    from retrieval.semantic.encoders import ROLE
    from retrieval.semantic.inputs import SnapshotTexts, passage_keys, sentence_keys

    # The keys of the real texts (the vectors are random): a reindex of the unchanged store then
    # finds every vector it needs in this snapshot, as it would after a real embedding.
    t = time.perf_counter()
    texts = SnapshotTexts(folder)
    keys = passage_keys(texts)
    keys.tofile(folder / FILES["embed_keys"])
    sentence_keys(texts, keys, earlier=()).tofile(folder / FILES["sentence_embed_keys"])
    keys_s = time.perf_counter() - t
    ann, figures = {}, {}
    t = time.perf_counter()
    rows = _random_unit_rows(folder, vectors_file(ROLE), passages, width, SEED)
    _random_unit_rows(folder, sentence_vectors_file(ROLE), sentences, width, SEED + 10)
    figures["vectors_s"] = round(time.perf_counter() - t, 2)
    if passages >= ANN_FROM_PASSAGES:
        t = time.perf_counter()
        ann[ROLE] = build_ivf(rows, folder / ann_file(ROLE))
        figures["ann_build_s"] = round(time.perf_counter() - t, 2)
        figures["ann"] = ann[ROLE]
        figures["ann_mb"] = round((folder / ann_file(ROLE)).stat().st_size / 1e6, 1)
    del rows
    figures["keys_s"] = round(keys_s, 2)
    tables = [vectors_file(ROLE), sentence_vectors_file(ROLE)]
    written = [name for table in tables for name in (table, scales_file(table))]
    figures["vectors_mb"] = round(sum((folder / name).stat().st_size for name in written) / 1e6, 1)
    return ann, figures


def task_semantic_build(snapshots: str, semantic_dir: str) -> dict:
    """The live wikiqa snapshot with random passage vectors of the model's width, as the live
    snapshot of ``semantic_dir``: what a reindex adds to a snapshot once its passages are embedded."""
    from retrieval.index.format import ANN, SEMANTIC, SENTENCE_VECTORS, read_manifest, write_manifest
    from retrieval.index.publish import CURRENT, current_version
    from retrieval.semantic.encoders import ROLE, describe, installed

    version = current_version(Path(snapshots))
    if not installed() or version is None:
        return {"skipped": f"no snapshot in {snapshots}" if installed() else "no semantic model installed"}
    root = Path(semantic_dir)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    folder = root / version
    _link_snapshot(Path(snapshots) / version, folder)
    os.symlink(version, root / CURRENT)
    manifest = read_manifest(Path(snapshots) / version)
    model = describe()
    semantic = {ROLE: model}
    rows = int(manifest["passages"]), int(manifest["sentences"])
    ann, figures = _add_vectors(folder, *rows, int(model["dimensions"]))
    t = time.perf_counter()
    write_manifest(
        folder,
        {**manifest, SEMANTIC: semantic, SENTENCE_VECTORS: semantic, **({ANN: ann} if ann else {})},
    )
    return {
        "passages": manifest["passages"],
        "dimensions": model["dimensions"],
        **figures,
        "manifest_s": round(time.perf_counter() - t, 2),
        "size_mb": round(_folder_bytes(folder) / 1e6, 1),
    }


def task_semantic_reindex(store_path: str, semantic_dir: str) -> dict:
    """``wikiqa reindex`` of the unchanged store into the semantic snapshots folder: every vector is
    found in the live snapshot, so nothing is embedded (the lexical build's time is its peer)."""
    from retrieval.index.build import build_snapshot
    from retrieval.semantic.embed import EmbeddingStage
    from retrieval.storage.articles import ArticleStore

    embedded: list[int] = []
    store = ArticleStore(f"sqlite:///{store_path}")
    started = time.perf_counter()
    stage = EmbeddingStage(on_progress=lambda table, count, total: embedded.append(count))
    build_snapshot(store, Path(semantic_dir), source_url="https://example.org/{article_id}", stages=(stage,))
    return {"reindex_s": round(time.perf_counter() - started, 2), "embedded": sum(embedded)}


def _embedding_latency(questions: list[str]) -> dict:
    """Percentiles of embedding one question (the model loaded already)."""
    from retrieval.semantic.encoders import encoder

    model = encoder()
    samples = []
    for question in questions:
        t = time.perf_counter()
        model.queries([question])
        samples.append(time.perf_counter() - t)
    return _percentiles(samples)


def task_semantic_serve(semantic_dir: str) -> dict:
    """Load and search the semantic snapshot as the bot does: English questions re-scored by
    cosine, Cyrillic ones found by their vectors."""
    started = time.perf_counter()
    from retrieval.index.publish import load_snapshot
    from retrieval.search.searcher import Searcher
    from retrieval.semantic.encoders import encoder

    imported = time.perf_counter()
    snapshot = load_snapshot(Path(semantic_dir))
    loaded = time.perf_counter()
    encoder().queries(["warm up"])  # else loaded by the first question: the bot warms it up
    warmed = time.perf_counter()
    searcher = Searcher(snapshot, cache_size=0)
    english = make_questions(QUESTIONS)
    foreign = in_cyrillic(english)
    assert searcher.semantic is not None, "the snapshot's vectors are not read"
    assert all(searcher.is_cross_lingual(q) for q in foreign), "a Cyrillic question read as English"
    result: dict = {
        "import_s": round(imported - started, 3),
        "load_s": round(loaded - imported, 4),
        "models_s": round(warmed - loaded, 2),
        "question_embedding": _embedding_latency(english + foreign),
        "search": _search_latency(searcher, english),
        "search_foreign": _search_latency(searcher, foreign),
    }
    return {**result, **_rss_split()}  # while the snapshot is still open


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


def child_main(task: str, args: list[str]) -> None:
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    result = TASKS[task](*args)
    result["self_peak_rss_mb"] = round(_self_rss_mb(), 1)
    # A serving task measures its RSS itself, before it lets go of what it searched: its mapped
    # pages are unmapped once the task returns.
    for name, mb in _rss_split().items():
        result.setdefault(name, mb)
    # CPU seconds of this process and its workers: wall time means little on a shared machine.
    me, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu_s"] = round(me.ru_utime + me.ru_stime + workers.ru_utime + workers.ru_stime, 1)
    print("RESULT " + json.dumps(result), flush=True)


# -- parent ------------------------------------------------------------------------------------


def _cpu_wait_ns(pid: int) -> int | None:
    """Nanoseconds the process has spent runnable but waiting for a CPU (Linux schedstat)."""
    try:
        with open(f"/proc/{pid}/schedstat") as file:
            return int(file.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None


def run_child(task: str, *args: str, threads: int = 1) -> dict:
    """Run a task in a fresh interpreter with ``threads`` BLAS and OpenMP threads; peak RSS and CPU
    wait are sampled over its process tree."""
    import psutil

    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "DISABLE_TQDM": "1",
    }
    process = subprocess.Popen(
        [sys.executable, __file__, "_child", task, *args], stdout=subprocess.PIPE, text=True, env=env
    )
    peak = 0
    waits: dict[int, int] = {}  # last seen per process of the tree (workers come and go)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        parent = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [parent, *parent.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            for p in tree:
                wait = _cpu_wait_ns(p.pid)
                if wait is not None:
                    waits[p.pid] = wait
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{task} failed with exit code {process.returncode}")
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["tree_peak_rss_mb"] = round(peak / 2**20, 1)
    if waits:
        result["cpu_wait_s"] = round(sum(waits.values()) / 1e9, 1)
    return result


def measure(label: str, workdir: Path, bm25s_too: bool, rank_bm25_too: bool, semantic_too: bool) -> dict:
    size = SIZES[label]
    store = workdir / f"corpus-{label}.db"
    if not store.exists():
        print(f"[{label}] generating corpus ...", file=sys.stderr, flush=True)
        make_corpus(size, store)
    snapshots = workdir / f"snapshots-{label}"
    out: dict = {"size": label}
    print(f"[{label}] wikiqa build ...", file=sys.stderr, flush=True)
    out["wikiqa_build"] = run_child("wikiqa-build", str(store), str(snapshots))
    out["wikiqa_serve"] = run_child("wikiqa-serve", str(snapshots))
    if semantic_too:
        semantic = workdir / f"semantic-{label}"
        print(f"[{label}] semantic snapshot ...", file=sys.stderr, flush=True)
        # A reindex step: on every core, as a reindex builds the index and checksums the files.
        out["semantic_build"] = run_child("semantic-build", str(snapshots), str(semantic), threads=CORES)
        if "skipped" not in out["semantic_build"]:
            out["semantic_serve"] = run_child("semantic-serve", str(semantic))
            out["semantic_reindex"] = run_child("semantic-reindex", str(store), str(semantic))
    if bm25s_too:
        index_dir = workdir / f"bm25s-{label}"
        print(f"[{label}] bm25s build ...", file=sys.stderr, flush=True)
        out["bm25s_build"] = run_child("bm25s-build", str(snapshots), str(index_dir))
        out["bm25s_numpy"] = run_child("bm25s-serve", str(index_dir), "numpy")
        out["bm25s_numba"] = run_child("bm25s-serve", str(index_dir), "numba")
    if rank_bm25_too:
        print(f"[{label}] rank-bm25 ...", file=sys.stderr, flush=True)
        out["rank_bm25"] = run_child("rank-bm25", str(snapshots))
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


HEADER = (
    "size",
    "engine",
    "build s (CPU s, s queued for a CPU)",
    "build peak RSS MB",
    "on disk MB",
    "load s",
    "serve RSS MB",
    "p50 ms",
    "p99 ms",
)


def _row(*cells: object) -> str:
    return "| " + " | ".join("" if c is None else str(c) for c in cells) + " |"


def _seconds(build: dict) -> str:
    """Wall seconds, then CPU seconds and seconds spent waiting for a CPU where known."""
    extra = [
        f"{build[key]} {label}" for key, label in (("cpu_s", "CPU"), ("cpu_wait_s", "queued")) if key in build
    ]
    return f"{build['build_s']} ({', '.join(extra)})" if extra else str(build["build_s"])


def table(results: list[dict]) -> str:
    rows = [_row(*HEADER), _row(*["---"] * len(HEADER))]
    for r in results:
        size, build, serve = r["size"], r["wikiqa_build"], r["wikiqa_serve"]
        label = f"{size} ({build['passages']:,} passages)"
        latency = serve["first_stage"]
        rows.append(
            _row(
                label, "wikiqa first stage (numpy)", _seconds(build), build["tree_peak_rss_mb"],
                build["size_mb"], serve["load_s"], serve["self_peak_rss_mb"],
                latency["p50_ms"], latency["p99_ms"],
            )
        )  # fmt: skip
        if "first_stage_numba" in serve:
            latency = serve["first_stage_numba"]
            engine = f"wikiqa first stage, numba kernel (+{serve['accelerate_s']} s at load)"
            rows.append(_row(size, engine, *[None] * 5, latency["p50_ms"], latency["p99_ms"]))
        if "search" in serve:
            latency = serve["search"]
            rows.append(
                _row(size, "wikiqa full search, top 5", *[None] * 5, latency["p50_ms"], latency["p99_ms"])
            )
        if "bm25s_build" in r:
            bm = r["bm25s_build"]
            for backend in ("numpy", "numba"):
                x = r[f"bm25s_{backend}"]
                rows.append(
                    _row(
                        size, f"bm25s {backend}", _seconds(bm), bm["tree_peak_rss_mb"], bm["size_mb"],
                        x["load_s"], x["self_peak_rss_mb"],
                        x["first_stage"]["p50_ms"], x["first_stage"]["p99_ms"],
                    )
                )  # fmt: skip
        if "rank_bm25" in r:
            x = r["rank_bm25"]
            rows.append(
                _row(
                    size, "rank-bm25 BM25Okapi", x["build_s"], x["tree_peak_rss_mb"], None, None, None,
                    x["first_stage"]["p50_ms"], x["first_stage"]["p99_ms"],
                )
            )  # fmt: skip
    return "\n".join(rows)


SEMANTIC_HEADER = ("size", "semantic stage", "figure", "p50 ms", "p99 ms", "lexical peer")


def _semantic_rows(r: dict) -> list[str]:
    """One size's semantic figures, beside those of the lexical snapshot measured in the same run."""
    size, build = r["size"], r["semantic_build"]
    if "skipped" in build:
        return [_row(size, "skipped", build["skipped"], None, None, None)]
    serve, peer_build, peer = r["semantic_serve"], r["wikiqa_build"], r["wikiqa_serve"]
    rows = [
        _row(
            f"{size} ({build['passages']:,} passages)", f"random vectors, int8, {build['dimensions']} wide",
            f"{build['vectors_mb']} MB written in {build['vectors_s']} s", None, None, None,
        )
    ]  # fmt: skip
    if "ann" in build:
        ann = f"faiss IVF-SQ8 index, {build['ann']['cells']:,} cells"
        rows.append(
            _row(size, ann, f"{build['ann_mb']} MB built in {build['ann_build_s']} s", None, None, None)
        )
    rows += [
        _row(size, "manifest rewrite (every file checksummed)", f"{build['manifest_s']} s", None, None, None),
        _row(
            size, "snapshot on disk (build peak RSS)",
            f"{build['size_mb']} MB ({build['tree_peak_rss_mb']} MB)", None, None,
            f"{peer_build['size_mb']} MB",
        ),
        _row(
            size, "fresh-process load + models' load", f"{serve['load_s']} s + {serve['models_s']} s",
            None, None, f"{peer['load_s']} s",
        ),
        _row(size, "serving RSS, private + file-backed (peak)", _rss(serve), None, None, _rss(peer)),
    ]  # fmt: skip
    reindex = r.get("semantic_reindex")
    if reindex is not None:
        figure = (
            f"{reindex['reindex_s']} s, {reindex['embedded']} texts embedded "
            f"(peak RSS {reindex['tree_peak_rss_mb']} MB)"
        )
        peer_figure = f"{peer_build['build_s']} s (peak RSS {peer_build['tree_peak_rss_mb']} MB)"
        rows.append(_row(size, "reindex of the unchanged store", figure, None, None, peer_figure))
    latency = serve["question_embedding"]
    rows.append(_row(size, "question embedding", None, latency["p50_ms"], latency["p99_ms"], None))
    lexical = f"{peer['search']['p50_ms']} / {peer['search']['p99_ms']} ms" if "search" in peer else None
    searches = (
        ("search", "full search top 5, English questions (cosine rescoring)"),
        ("search_foreign", "full search top 5, Cyrillic questions (dense + BM25 fusion)"),
    )
    for key, label in searches:
        latency = serve.get(key)
        if latency is not None and "skipped" in latency:
            rows.append(_row(size, f"{label}: skipped", latency["skipped"], None, None, None))
        elif latency is not None:
            rows.append(_row(size, label, None, latency["p50_ms"], latency["p99_ms"], lexical))
    return rows


def _rss(serve: dict) -> str:
    return f"{serve['rssanon_mb']} + {serve['rssfile_mb']} MB ({serve['self_peak_rss_mb']} MB)"


def semantic_table(results: list[dict]) -> str:
    rows = [_row(*SEMANTIC_HEADER), _row(*["---"] * len(SEMANTIC_HEADER))]
    for r in results:
        if "semantic_build" in r:
            rows += _semantic_rows(r)
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated: 1k, 10k, 100k, 1M")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/wikiqa-bench"))
    parser.add_argument("--no-bm25s", action="store_true", help="skip the plain bm25s comparison")
    parser.add_argument("--no-semantic", action="store_true", help="skip the semantic stage")
    parser.add_argument("--out", type=Path, help="also write the raw figures as JSON")
    options = parser.parse_args()
    options.workdir.mkdir(parents=True, exist_ok=True)
    labels = [s.strip() for s in options.sizes.split(",") if s.strip()]
    semantic = not options.no_semantic
    results = [
        measure(label, options.workdir, not options.no_bm25s, label == "10k", semantic) for label in labels
    ]
    if options.out:
        options.out.write_text(json.dumps({"sizes": results}, indent=1))
    print(table(results))
    if semantic:
        print()
        print(semantic_table(results))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child_main(sys.argv[2], sys.argv[3:])
    else:
        main()
