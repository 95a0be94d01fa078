"""A benchmark step in a fresh interpreter, and what it cost.

The step runs as ``python SCRIPT ARGS...`` and ends with :func:`report`, which adds the child's
own peak RSS, its resident memory split, and its CPU seconds (its workers' included), and prints
it all on one ``RESULT`` line. :func:`run_child` reads that line and adds what only the parent
sees: the peak RSS of the child's process tree (workers summed, sampled every 20 ms) and how long
its processes waited for a CPU (on a shared machine wall time then says little; CPU time still
does).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

RESULT = "RESULT "
SAMPLE_S = 0.02


def _status_mb(*names: str) -> dict[str, float]:
    """Fields of /proc/self/status given in kB, in MB (none where there is no /proc)."""
    fields = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in names:
                fields[name] = int(value.split()[0]) / 1024
    return fields


def self_peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ``ru_maxrss`` would not do: a spawned child starts from
    its parent's high-water mark, while the memory map's ``VmHWM`` starts afresh."""
    peak = _status_mb("VmHWM").get("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_split() -> dict[str, float]:
    """Resident memory now: private (anonymous) vs file-backed pages (mmapped index, shared and
    reclaimable by the kernel)."""
    return {f"{name.lower()}_mb": round(mb, 1) for name, mb in _status_mb("RssAnon", "RssFile").items()}


def report(result: dict) -> None:
    """In the child: print ``result`` with this process's memory and CPU figures, for
    :func:`run_child`. A step that serves from mapped files measures :func:`rss_split` itself,
    before it lets go of them; that figure is kept."""
    result["self_peak_rss_mb"] = round(self_peak_rss_mb(), 1)
    for name, mb in rss_split().items():
        result.setdefault(name, mb)
    me, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    result["cpu_s"] = round(me.ru_utime + me.ru_stime + workers.ru_utime + workers.ru_stime, 1)
    print(RESULT + json.dumps(result), flush=True)


def _cpu_wait_ns(pid: int) -> int | None:
    """Nanoseconds the process has spent runnable but waiting for a CPU (Linux schedstat)."""
    try:
        with open(f"/proc/{pid}/schedstat") as file:
            return int(file.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None


def run_child(script: str | Path, *args: str, threads: int = 1) -> dict:
    """Run ``script`` with ``args`` in a fresh interpreter with ``threads`` BLAS and OpenMP threads,
    sampling its process tree; the figures it reported, with ``tree_peak_rss_mb`` and
    ``cpu_wait_s``. Raises RuntimeError if it fails."""
    import psutil

    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "DISABLE_TQDM": "1",
    }
    process = subprocess.Popen(
        [sys.executable, str(script), *args], stdout=subprocess.PIPE, text=True, env=env
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
            time.sleep(SAMPLE_S)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{Path(script).name} {' '.join(args)} failed with exit code {process.returncode}")
    line = next(line for line in output.splitlines() if line.startswith(RESULT))
    result = json.loads(line[len(RESULT) :])
    result["tree_peak_rss_mb"] = round(peak / 2**20, 1)
    if waits:
        result["cpu_wait_s"] = round(sum(waits.values()) / 1e9, 1)
    return result
