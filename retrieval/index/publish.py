"""Where snapshots live and which one is live: built beside each other, swapped in atomically.

Layout of ``WIKIQA_HOME/snapshots``::

    current -> 20261127T160501Z-1a2b3c4d     the live snapshot (a symlink, replaced atomically)
    20261127T160501Z-1a2b3c4d/               a complete, self-contained snapshot
    .build-<random>/                          a build in progress (or abandoned by a crash)
    reindex.lock                              flock'ed by the running build

A build writes into its own hidden folder and becomes visible only through two renames: the folder
to its final name, then a fresh symlink over ``current`` (``os.replace``, atomic on POSIX). A
build killed at any point therefore leaves ``current`` pointing at the previous, untouched
snapshot; the next build deletes the leftovers. Readers never see a half-written snapshot, and a
process that has a snapshot loaded keeps its mmaps valid even after the files are deleted. The
snapshot before the live one is kept, so that a damaged live snapshot can be stood in for.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from retrieval.errors import SnapshotError
from retrieval.index.arrays import fsync_dir
from retrieval.index.reader import Snapshot

log = logging.getLogger(__name__)

CURRENT = "current"
LOCK_FILE = "reindex.lock"
BUILD_PREFIX = ".build-"
KEEP_SNAPSHOTS = 2  # the live one and the previous one

Warn = Callable[[str], None]


def current_version(snapshots_dir: Path) -> str | None:
    """Name of the live snapshot, or None. One ``readlink``: cheap enough to call per question."""
    try:
        return os.readlink(snapshots_dir / CURRENT)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:  # ``current`` is there but is no symlink (replaced by hand or by a tool)
        return None


def versions(snapshots_dir: Path) -> list[str]:
    """The snapshot folders, oldest first (their names start with the build time)."""
    try:
        children = list(snapshots_dir.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(
        c.name for c in children if c.is_dir() and not c.is_symlink() and not c.name.startswith(".")
    )


def _no_snapshot(snapshots_dir: Path) -> SnapshotError:
    link = snapshots_dir / CURRENT
    if link.exists() and not link.is_symlink():
        return SnapshotError(f"{link} is not a link to an index snapshot; run wikiqa reindex to repair it")
    return SnapshotError(f"there is no index snapshot in {snapshots_dir} yet; run wikiqa reindex")


def load_snapshot(snapshots_dir: Path, *, warn: Warn = log.warning) -> Snapshot:
    """The live snapshot.

    When the live snapshot is damaged (or ``current`` no longer points at one), the newest whole
    snapshot kept beside it answers instead and ``warn`` is told so in one sentence; with none,
    the live snapshot's own error is raised.
    """
    version = current_version(snapshots_dir)
    try:
        if version is None:
            raise _no_snapshot(snapshots_dir)
        return Snapshot(snapshots_dir / version)
    except SnapshotError as err:
        problem = err
    for older in reversed(versions(snapshots_dir)):
        if older == version:
            continue
        try:
            snapshot = Snapshot(snapshots_dir / older)
        except SnapshotError:
            continue
        warn(
            f"{str(problem).removesuffix('; run wikiqa reindex')}; answering from the previous "
            f"snapshot {older} until wikiqa reindex builds a new one"
        )
        return snapshot
    raise problem


def point_current(snapshots_dir: Path, version: str) -> None:
    """Swap ``current`` to ``version`` in one atomic rename of a fresh symlink.

    A ``current`` that is no symlink (a folder or file put there by hand) is moved out of the way
    first: it cannot be replaced atomically, and refusing would leave no way to repair it.
    """
    link = snapshots_dir / CURRENT
    if link.exists() and not link.is_symlink():
        aside = snapshots_dir / f"{BUILD_PREFIX}replaced-{CURRENT}-{os.getpid()}"
        os.rename(link, aside)
        if aside.is_dir():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            aside.unlink(missing_ok=True)
    temporary = snapshots_dir / f".{CURRENT}-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    os.symlink(version, temporary)
    os.replace(temporary, link)
    fsync_dir(snapshots_dir)


def new_version(snapshots_dir: Path, built_at: datetime, fingerprint: str) -> str:
    base = f"{built_at:%Y%m%dT%H%M%S.%fZ}-{fingerprint[:8]}"
    version, n = base, 1
    while (snapshots_dir / version).exists():
        n += 1
        version = f"{base}-{n}"
    return version


def remove_abandoned_builds(snapshots_dir: Path) -> None:
    """Folders of builds that died mid-way (only called while holding the lock)."""
    for child in snapshots_dir.iterdir():
        if child.name.startswith(BUILD_PREFIX) and child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        elif child.name.startswith(f".{CURRENT}-") and child.is_symlink():
            child.unlink(missing_ok=True)


def remove_old_snapshots(snapshots_dir: Path) -> None:
    """Keep the live snapshot and the one before it; processes still serving older ones keep
    their mmaps (deleted files live on until unmapped)."""
    live = current_version(snapshots_dir)
    names = versions(snapshots_dir)
    keep = {live, *names[-KEEP_SNAPSHOTS:]}
    for name in names:
        if name not in keep:
            shutil.rmtree(snapshots_dir / name, ignore_errors=True)
