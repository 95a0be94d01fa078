"""The reindex lock: one build at a time per snapshots folder, never stuck after a crash.

``fcntl.flock`` locks belong to the open file, so the kernel drops them when the holder exits for
any reason, SIGKILL included; a stale lock file is harmless. The holder writes its pid and start
time into the file so a refused caller can say who is building.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from retrieval.errors import SnapshotError


class BuildLock:
    """Exclusive, non-blocking lock on ``path``; raises :class:`SnapshotError` when already held."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise SnapshotError(
                f"another reindex is already running{holder}; wait for it to finish"
            ) from None
        try:
            os.ftruncate(fd, 0)
            started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "started": started}).encode(), 0)
        except OSError:
            os.close(fd)  # and with it the lock: a full disk must not leave it held
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> BuildLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


@contextmanager
def waiting_for(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``, waiting as long as another process holds it (the
    first run's build: a second question asked meanwhile waits for the index instead of failing)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and with it the lock


def is_locked(path: Path) -> bool:
    """Whether a build holds the lock right now (for status displays; racy by nature)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f" (process {int(info['pid'])}, started {info['started']})"
    except (ValueError, KeyError, TypeError):
        return ""
