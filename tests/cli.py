"""``wikiqa`` run as a user runs it: a process of its own, with the environment it is given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_wikiqa(*args: str, cwd: Path | None = None, **variables: str) -> subprocess.CompletedProcess[str]:
    """``wikiqa ARGS`` with ``variables`` added to this process's environment; its exit status and
    output, as text (a hang ends it after five minutes)."""
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **variables},
        cwd=cwd,
        timeout=300,
    )
