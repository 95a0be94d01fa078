"""Latency figures: each call timed on its own, summed up as p50 and p99 in milliseconds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def timings(call: Callable[[T], object], items: Iterable[T]) -> list[float]:
    """Seconds each ``call(item)`` took."""
    samples = []
    for item in items:
        started = time.perf_counter()
        call(item)
        samples.append(time.perf_counter() - started)
    return samples


def percentiles(seconds: Sequence[float], digits: int = 3) -> dict[str, float | None]:
    """p50 and p99 of ``seconds``, in milliseconds rounded to ``digits`` (None without samples)."""
    if not len(seconds):
        return {"p50_ms": None, "p99_ms": None}
    ms = np.asarray(seconds) * 1000
    return {f"p{q}_ms": round(float(np.percentile(ms, q)), digits) for q in (50, 99)}
