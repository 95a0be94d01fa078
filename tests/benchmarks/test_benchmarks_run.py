"""Every benchmark still runs: each script in ``benchmarks/`` at its smallest size, as a process.

The figures are not checked (tests never assert on time); a benchmark that no longer starts,
imports something that moved, or fails on the way fails here instead of on the day it is needed.
A new benchmark without a tiny run here fails ``test_every_benchmark_has_a_tiny_run``. What the
scripts share lives in ``benchmarks/lib/``, which holds no script.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MISSING_MODELS
from tests.paths import EVAL

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
LIBRARY = BENCHMARKS / "lib"

# Script -> its runs (options; "{workdir}" is a fresh folder), each a few seconds.
TINY_RUNS: dict[str, list[str]] = {
    "ingest.py": ["-n 200 --workdir {workdir}"],
    "search.py": [
        "--no-semantic --sizes 1k --questions 20 --workdir {workdir}",  # with the bm25s and rank-bm25 peers
        "--sizes 1k --questions 20 --no-bm25s --workdir {workdir}",  # with the semantic half
    ],
    "embedding.py": ["--passages 2 --sentences 2 --questions 2 --engines wikiqa-int8 --repeat 1 --threads 1"],
    "answer.py": [
        "speed --size 1k --questions 20 --workdir {workdir}",
        "startup --runs 1",
        "calibrate --questions 20",
    ],
    "bot.py": ["--passages 1000 --phases open --seconds 1 --rate 20 --workdir {workdir}"],
    "bot_http.py": ["--requests 50 --in-flight 4 --rounds 1"],
}
NEEDS_MODEL = {"embedding.py"}  # and every run of search.py without --no-semantic
NEEDS_EVAL = {("answer.py", "calibrate")}


def test_every_benchmark_has_a_tiny_run() -> None:
    assert sorted(path.name for path in BENCHMARKS.glob("*.py")) == sorted(TINY_RUNS)


def test_the_shared_benchmark_modules_hold_no_script() -> None:
    """A script put in ``benchmarks/lib/`` would escape the tiny runs."""
    modules = list(LIBRARY.glob("*.py"))
    assert modules and not [path.name for path in modules if "__main__" in path.read_text()]


def needs_model(script: str, options: str) -> bool:
    return script in NEEDS_MODEL or (script == "search.py" and "--no-semantic" not in options.split())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("script", "options"),
    [(script, options) for script, runs in TINY_RUNS.items() for options in runs],
    ids=lambda value: value.split()[0],
)
def test_the_benchmark_runs_at_its_smallest_size(script: str, options: str, tmp_path: Path) -> None:
    if needs_model(script, options) and MISSING_MODELS:
        pytest.skip(f"the semantic model is not installed ({', '.join(MISSING_MODELS)})")
    if (script, options.split()[0]) in NEEDS_EVAL and not EVAL.is_dir():
        pytest.skip(f"{EVAL} is absent")
    command = [sys.executable, str(BENCHMARKS / script), *options.format(workdir=tmp_path).split()]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert done.stdout.strip(), "the benchmark printed no figures"
