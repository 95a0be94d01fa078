"""The reindex as a child process of the bot: ``python -P -m bot.telegram.reindex_worker``.

Building a snapshot is CPU-heavy Python; in a thread of the bot it would hold the GIL and slow
every answer. As a separate process it uses the other core, and the bot only reads the JSON lines
it prints: ``{"progress": text}`` and ``{"warning": text}``, then ``{"done": counts}`` or
``{"error": sentence}``. Settings
come from the environment the bot passes down. It runs at idle CPU priority and analyses in
this one process, so that answering users keeps both cores and the rebuild waits.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import Any

PROGRESS_EVERY_SECONDS = 0.5
NICENESS = 10
# Analysis stays in this one process: with build workers on both cores, answers queue behind
# them and reply latency during /reindex grows severalfold (benchmarks/bot.py's reindex phases
# measure it); the rebuild takes about twice as long this way, which nobody waits on.
BUILD_WORKERS = 0


def emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def snapshot_counts(info: Any) -> dict[str, Any]:
    names = ("version", "built_at", "articles", "passages", "vocabulary", "size_bytes", "semantic")
    return {name: getattr(info, name, None) for name in names}


def lower_priority() -> None:
    """Run only on CPU time that answering leaves idle.

    Linux's SCHED_IDLE class yields to any normal task the moment it wakes; a nice value only
    shrinks the rebuild's share, and the replies' p99 during /reindex shows the difference
    (benchmarks/bot.py) while the rebuild takes as long. The nice value stays as the fallback
    elsewhere.
    """
    with contextlib.suppress(OSError, AttributeError):
        os.nice(NICENESS)
    with contextlib.suppress(OSError, AttributeError):  # Linux only
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def main() -> int:
    from bot.corpus import rebuild_index
    from bot.settings import load_settings
    from retrieval.errors import WikiqaError

    lower_priority()
    last = 0.0
    done = 0

    def on_progress(articles: int, total: int) -> None:
        nonlocal last, done
        done += articles
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_SECONDS:
            last = now
            emit({"progress": f"{done:,} of {total:,} articles analysed"})

    embedded: dict[str, int] = {}

    def on_embed_progress(table: str, count: int, total: int) -> None:
        nonlocal last
        embedded[table] = embedded.get(table, 0) + count
        now = time.monotonic()
        if now - last >= PROGRESS_EVERY_SECONDS:
            last = now
            unit = "sentences" if table.endswith("-sentences") else "passages"
            emit({"progress": f"{embedded[table]:,} of {total:,} {unit} embedded ({table})"})

    started = time.perf_counter()
    try:
        info = rebuild_index(
            load_settings(dotenv=False),
            on_progress=on_progress,
            workers=BUILD_WORKERS,
            warn=lambda text: emit({"warning": text}),
            on_embed_progress=on_embed_progress,
        )
    except WikiqaError as err:
        emit({"error": str(err)})
        return 1
    emit({"done": {**snapshot_counts(info), "seconds": round(time.perf_counter() - started, 1)}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
