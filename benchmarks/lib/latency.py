"""Latency figures: each call timed on its own, summed up as p50 and p99 in milliseconds, by the
same percentile definition as every figure wikiqa itself reports."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from retrieval.search.evaluate import percentile

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
    figures: dict[str, float | None] = {}
    for q in (50, 99):
        value = percentile((s * 1000 for s in seconds), q / 100)
        figures[f"p{q}_ms"] = None if value is None else round(value, digits)
    return figures
