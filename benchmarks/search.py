"""Speed and memory of wikiqa's index against plain bm25s and rank-bm25, on synthetic corpora.

Seeded corpora of about 10k, 100k and 1M passages (``benchmarks/lib/search_corpus.py``) go into
SQLite stores; each step then runs in its own child process, so peak memory is that step's alone
(the process tree's, workers summed), with its CPU seconds and the seconds it waited for a CPU
(on a shared machine wall time says little, CPU time still does):

- wikiqa: ``build_snapshot`` time, size and peak RSS; fresh-process load time, first-stage
  latency (top 100, numpy and numba) and full ``Searcher.search`` latency (top 5), serving RSS;
- plain bm25s (its tokenizer, English stop words and stemming): build, size, peak RSS, then load
  with mmap and first-stage latency (top 100) with its numpy and numba backends;
- rank-bm25 ``BM25Okapi``: build and ``get_scores`` + top 100 latency, at the smallest size only
  (it holds every passage's tokens in Python lists);
- the semantic stage (unless --no-semantic), in a second table. Embedding a million passages
  takes hours on a small machine, so the snapshot is built as a reindex builds it but with
  seeded random unit vectors in place of the model's, which a search reads exactly as it reads
  real ones: build time (the lexical build included) and size; load time of the snapshot, the
  numba kernel (as the bot loads it, where installed) and the model; question embedding time;
  search latency for the English questions (cosine rescoring) and for the same questions spelled
  in Cyrillic (dense retrieval fused with BM25); serving RSS; and a reindex of the unchanged
  store (nothing embedded), each beside the lexical snapshot's figure. Embedding throughput on
  real text is ``benchmarks/embedding.py``'s.

Usage::

    .venv/bin/python benchmarks/search.py                  # 10k and 100k
    .venv/bin/python benchmarks/search.py --sizes 10k,100k,1M --out bench.json

Corpora and indexes are cached in --workdir (default /tmp/wikiqa-bench). Single thread
everywhere for latency. "Cold" load is a fresh process with the page cache warm. --out writes
``{"sizes": [one object per size]}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.lib.processes import run_child  # noqa: E402
from benchmarks.lib.search_corpus import SIZES, make_corpus  # noqa: E402
from benchmarks.lib.search_report import semantic_table, table  # noqa: E402

QUESTIONS = 300
CORES = os.cpu_count() or 1


def task(name: str, *args: object, threads: int = 1) -> dict:
    """The figures of the step ``name`` (``benchmarks/lib/search_tasks.py``), run in a child."""
    return run_child(__file__, "_child", name, *map(str, args), threads=threads)


def measure(
    label: str, workdir: Path, questions: int, bm25s_too: bool, rank_bm25_too: bool, semantic_too: bool
) -> dict:
    store = workdir / f"corpus-{label}.db"
    if not store.exists():
        print(f"[{label}] generating corpus ...", file=sys.stderr, flush=True)
        make_corpus(SIZES[label], store)
    snapshots = workdir / f"snapshots-{label}"
    out: dict = {"size": label}
    print(f"[{label}] wikiqa build ...", file=sys.stderr, flush=True)
    out["wikiqa_build"] = task("wikiqa-build", store, snapshots)
    out["wikiqa_serve"] = task("wikiqa-serve", snapshots, questions)
    if semantic_too:
        semantic = workdir / f"semantic-{label}"
        print(f"[{label}] semantic snapshot ...", file=sys.stderr, flush=True)
        # A reindex: on every core, as a reindex builds the index and checksums the files.
        out["semantic_build"] = task("semantic-build", store, semantic, threads=CORES)
        if "skipped" not in out["semantic_build"]:
            out["semantic_serve"] = task("semantic-serve", semantic, questions)
            out["semantic_reindex"] = task("semantic-reindex", store, semantic)
    if bm25s_too:
        index_dir = workdir / f"bm25s-{label}"
        print(f"[{label}] bm25s build ...", file=sys.stderr, flush=True)
        out["bm25s_build"] = task("bm25s-build", snapshots, index_dir)
        out["bm25s_numpy"] = task("bm25s-serve", index_dir, "numpy", questions)
        out["bm25s_numba"] = task("bm25s-serve", index_dir, "numba", questions)
    if rank_bm25_too:
        print(f"[{label}] rank-bm25 ...", file=sys.stderr, flush=True)
        out["rank_bm25"] = task("rank-bm25", snapshots)
    print(json.dumps(out), file=sys.stderr, flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated: 1k, 10k, 100k, 1M")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/wikiqa-bench"))
    parser.add_argument("--questions", type=int, default=QUESTIONS, help="questions timed per engine")
    parser.add_argument("--no-bm25s", action="store_true", help="skip the plain bm25s comparison")
    parser.add_argument("--no-semantic", action="store_true", help="skip the semantic stage")
    parser.add_argument("--out", type=Path, help="also write the raw figures as JSON")
    options = parser.parse_args()
    options.workdir.mkdir(parents=True, exist_ok=True)
    labels = [s.strip() for s in options.sizes.split(",") if s.strip()]
    semantic, bm25s = not options.no_semantic, not options.no_bm25s
    smallest = min(labels, key=SIZES.__getitem__)
    results = [
        measure(label, options.workdir, options.questions, bm25s, bm25s and label == smallest, semantic)
        for label in labels
    ]
    if options.out:
        options.out.write_text(json.dumps({"sizes": results}, indent=1))
    print(table(results))
    if semantic:
        print()
        print(semantic_table(results))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        from benchmarks.lib.search_tasks import run_task

        run_task(sys.argv[2], sys.argv[3:])
    else:
        main()
