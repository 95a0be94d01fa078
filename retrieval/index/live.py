"""The live snapshot for a long-running process, following reindexes without a restart."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from retrieval.errors import SnapshotError
from retrieval.index.publish import current_version, load_snapshot
from retrieval.index.reader import Snapshot

log = logging.getLogger(__name__)


class LiveSnapshot:
    """The snapshot ``current`` points at, reloaded when a reindex moves it.

    :meth:`current` costs one ``readlink`` when nothing changed; when ``current`` points elsewhere
    it loads the new snapshot once (other threads keep using the old one meanwhile). Questions
    already holding the old :class:`Snapshot` finish on it. A new snapshot that cannot be loaded
    is logged once and the one in use goes on answering. With ``accelerate`` (the default) each
    snapshot is loaded with the compiled first-stage kernel when numba is installed.
    """

    def __init__(self, snapshots_dir: Path, *, accelerate: bool = True) -> None:
        self.snapshots_dir = snapshots_dir
        self.accelerate = accelerate
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._version: str | None = None  # what ``current`` pointed at when last looked at

    def current(self) -> Snapshot:
        version = current_version(self.snapshots_dir)
        snapshot = self._snapshot
        if snapshot is not None and (version == self._version or version is None):
            return snapshot
        with self._lock:
            if self._snapshot is None or (version is not None and version != self._version):
                self._reload(version)
            assert self._snapshot is not None
            return self._snapshot

    def _reload(self, version: str | None) -> None:
        if self._snapshot is None:
            snapshot = load_snapshot(self.snapshots_dir)
        else:
            try:
                snapshot = load_snapshot(self.snapshots_dir, warn=log.warning)
            except SnapshotError as err:
                log.error("%s; still answering from %s", err, self._snapshot.info.version)
                self._version = version  # not tried again until current moves on
                return
        if self.accelerate:
            snapshot.index.accelerate()
        self._snapshot, self._version = snapshot, version
