"""The reindex child's CPU priority: it must yield the cores to answering."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux-only")
def test_reindex_child_runs_at_idle_priority() -> None:
    probe = (
        "import os; from bot.telegram.reindex_worker import lower_priority; lower_priority(); "
        "print(os.sched_getscheduler(0) == os.SCHED_IDLE, os.nice(0))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "True"
    assert int(out[1]) >= 10
