"""Figures for the answering service: speed against bare search, start-up, and calibration.

Three measurements, each printed as a small table:

- ``speed``: in-process answer time (``Answer.took_ms``) against the bare ``Searcher.search`` time
  for the same questions, on the synthetic corpus of ``benchmarks/search.py`` (100k passages by
  default; its generator and its cached store in --workdir are reused). Each question is asked
  once of each, on separate instances, so neither is served from a cache. Measured twice: with
  the calibrated no-match threshold, and with it at 0 so every question pays for the answer line.
- ``startup``: wall time of ``wikiqa ask QUESTION`` as a fresh process on the bundled sample
  corpus, once bootstrapped (the median of --runs runs).
- ``calibrate``: on a snapshot of ../shared/eval/squad: the answer line's hit rate, and for
  several no-match thresholds the share of SQuAD questions refused (and of those whose top 3
  quotes held the answer) against the share refused of unrelated questions (SciFact claims, and
  a list of general-knowledge questions written here).

Usage::

    .venv/bin/python benchmarks/answer.py speed [--size 100k]
    .venv/bin/python benchmarks/answer.py startup
    .venv/bin/python benchmarks/answer.py calibrate
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.lib.latency import percentiles  # noqa: E402
from benchmarks.lib.search_corpus import SIZES, make_corpus, make_questions  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
QUESTION = "When was the Collective Security Treaty signed?"
THRESHOLDS = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6)

# Questions on subjects absent from the SQuAD articles (some share a word or two with them, as
# real off-topic questions do).
UNRELATED = """\
Who painted the Mona Lisa?
What is the boiling point of liquid nitrogen?
How tall is Mount Everest?
Who wrote the novel War and Peace?
What is the speed of light in a vacuum?
When did the Titanic sink?
What is the capital of Australia?
How many legs does a spider have?
Who invented the telephone?
What language is spoken in Brazil?
What is the largest planet in the solar system?
How do bees make honey?
Who composed the Moonlight Sonata?
What is the chemical formula of table salt?
When was the Eiffel Tower built?
What currency is used in Japan?
How long does it take light from the Sun to reach Earth?
Who was the first person to walk on the Moon?
What is photosynthesis?
How many strings does a violin have?
What is the tallest building in Dubai?
Who discovered penicillin?
What sport does Lionel Messi play?
How deep is the Mariana Trench?
What is the main ingredient of guacamole?
When did the Berlin Wall fall?
Who is the author of Harry Potter?
What is the population of Tokyo?
How does a refrigerator work?
What causes rainbows?
Which animal is the fastest on land?
What is the recipe for pancakes?
How many bones are in the human body?
Who directed the film Jaws?
What is the melting point of iron?
Where do kangaroos live?
What is the national dish of Italy?
Who won the 2018 FIFA World Cup?
How many moons does Mars have?
What is the longest river in Africa?
""".splitlines()


def speed(size: str, workdir: Path, questions: int) -> None:
    from bot.answer import Answerer
    from retrieval.index.build import build_snapshot
    from retrieval.index.publish import current_version, load_snapshot
    from retrieval.search.answer_line import CANDIDATE_PASSAGES
    from retrieval.search.searcher import Searcher
    from retrieval.storage.articles import ArticleStore

    workdir.mkdir(parents=True, exist_ok=True)
    store_path = workdir / f"corpus-{size}.db"
    if not store_path.exists():
        print(f"generating the {size} corpus in {store_path} ...", file=sys.stderr, flush=True)
        make_corpus(SIZES[size], store_path)
    snapshots = workdir / f"answer-snapshots-{size}"
    if current_version(snapshots) is None:
        print("building the snapshot ...", file=sys.stderr, flush=True)
        store = ArticleStore(f"sqlite:///{store_path}")
        build_snapshot(store, snapshots, source_url="https://example.org/{article_id}")
        store.close()
    snapshot = load_snapshot(snapshots)
    asked = make_questions(questions)
    k = max(3 + 1, CANDIDATE_PASSAGES)  # what Answerer.answer asks the searcher for on page 1

    warm = Searcher(snapshot)  # a throwaway pass, so both runs find the snapshot's pages in memory
    for question in asked:
        warm.search(question, k=k)
    # Interleaved, question by question, so a busy machine slows all three alike.
    searcher = Searcher(snapshot)
    answerers = {
        "Answerer.answer": Answerer(snapshot),
        "Answerer.answer, no threshold": Answerer(snapshot, min_coverage=0.0),
    }
    for label, answerer in answerers.items():
        started = time.perf_counter()
        answerer.answer(asked[0])  # builds its searcher; the timed answers then find it ready
        print(f"{label}: first answer took {time.perf_counter() - started:.2f} s")
    bare: list[float] = []  # seconds, as ``took`` holds them
    took: dict[str, list[float]] = {label: [] for label in answerers}
    refused: dict[str, int] = dict.fromkeys(answerers, 0)
    for question in asked:
        started = time.perf_counter()
        searcher.search(question, k=k)
        bare.append(time.perf_counter() - started)
        for label, answerer in answerers.items():
            answer = answerer.answer(question)
            took[label].append(answer.took_ms / 1000)
            refused[label] += answer.no_match
    rows = [("bare Searcher.search", bare, None)]
    rows += [(label, took[label], refused[label] / len(asked)) for label in answerers]

    print(f"{snapshot.info.passages:,} passages, {len(asked)} questions, search k={k}, one thread")
    print("| what | p50 ms | p99 ms | p50 / bare p50 | no match |")
    print("|---|---|---|---|---|")
    base = percentiles(bare)["p50_ms"]
    for label, samples, refused in rows:
        share = "" if refused is None else f"{refused:.0%}"
        p = percentiles(samples)
        print(f"| {label} | {p['p50_ms']:.3f} | {p['p99_ms']:.3f} | {p['p50_ms'] / base:.2f} | {share} |")


def startup(runs: int) -> None:
    wikiqa = Path(sys.executable).with_name("wikiqa")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "WIKIQA_HOME": home}
        started = time.perf_counter()
        subprocess.run([str(wikiqa), "ask", QUESTION], env=env, check=True, capture_output=True)
        first = time.perf_counter() - started
        walls = []
        for _ in range(runs):
            started = time.perf_counter()
            out = subprocess.run([str(wikiqa), "ask", QUESTION], env=env, check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
        assert b"May 15, 1992" in out.stdout
    print(f"first run (ingest + build + answer): {first:.2f} s wall")
    print(
        f"wikiqa ask as a fresh process, bootstrapped: median {statistics.median(walls):.3f} s, "
        f"max {max(walls):.3f} s over {runs} runs"
    )


def calibrate(limit: int | None = None) -> None:
    from bot.answer import MIN_COVERAGE, Answerer
    from retrieval.index.build import build_snapshot
    from retrieval.index.publish import load_snapshot
    from retrieval.search.evaluate import contains_answer
    from retrieval.storage.articles import ArticleStore
    from retrieval.storage.records import ArticleRecord

    squad = EVAL / "squad"
    with tempfile.TemporaryDirectory() as tmp:
        store = ArticleStore(f"sqlite:///{tmp}/store.db")
        rows = (json.loads(line) for line in (squad / "articles.jsonl").open(encoding="utf-8"))
        store.upsert(
            (ArticleRecord(r["article_id"], r["title"], r["article"], "") for r in rows), source="squad"
        )
        build_snapshot(
            store, Path(tmp) / "snapshots", source_url="https://en.wikipedia.org/wiki/{article_id}"
        )
        store.close()
        snapshot = load_snapshot(Path(tmp) / "snapshots")
        answerer = Answerer(snapshot, min_coverage=0.0)
        searcher = answerer._searcher_for(snapshot)

        questions = [json.loads(line) for line in (squad / "questions.jsonl").open(encoding="utf-8")][:limit]
        coverage, answerable, lines = [], [], 0
        for q in questions:
            hits = searcher.search(q["question"], k=5)
            line = searcher.answer_line(q["question"], hits)  # as the bot picks it
            lines += line is not None and contains_answer(line, q["answers"])
            coverage.append(answerer.answer(q["question"]).extra["coverage"])
            answerable.append(any(contains_answer(h.text, q["answers"]) for h in hits[:3]))
        claims = [
            json.loads(line)["text"] for line in (EVAL / "scifact" / "queries.jsonl").open(encoding="utf-8")
        ][:limit]
        scifact = [answerer.answer(c).extra["coverage"] for c in claims]
        general = [answerer.answer(q).extra["coverage"] for q in UNRELATED if q.strip()]

    cov, ok = np.asarray(coverage), np.asarray(answerable)
    print(
        f"answer line holds a gold answer: {lines / len(questions):.4f} of {len(questions)} SQuAD questions"
    )
    print(f"no-match threshold in use: {MIN_COVERAGE}")
    print(
        "| threshold | SQuAD refused | SQuAD refused though top 3 held the answer | SciFact claims refused "
        "| general questions refused |"
    )
    print("|---|---|---|---|---|")
    for t in THRESHOLDS:
        print(
            f"| {t} | {(cov < t).mean():.3f} | {((cov < t) & ok).mean():.3f} | "
            f"{(np.asarray(scifact) < t).mean():.3f} | {(np.asarray(general) < t).mean():.3f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="what", required=True)
    p_speed = sub.add_parser("speed", help="answer time against bare search time")
    p_speed.add_argument("--size", default="100k", choices=tuple(SIZES))
    p_speed.add_argument("--workdir", type=Path, default=Path("/tmp/wikiqa-bench"))
    p_speed.add_argument("--questions", type=int, default=1000)
    p_start = sub.add_parser("startup", help="fresh-process wikiqa ask wall time")
    p_start.add_argument("--runs", type=int, default=10)
    p_calibrate = sub.add_parser("calibrate", help="answer line and no-match threshold on ../shared/eval")
    p_calibrate.add_argument(
        "--questions", type=int, default=None, help="only the first N SQuAD questions and SciFact claims"
    )
    options = parser.parse_args()
    if options.what == "speed":
        speed(options.size, options.workdir, options.questions)
    elif options.what == "startup":
        startup(options.runs)
    else:
        calibrate(options.questions)


if __name__ == "__main__":
    main()
