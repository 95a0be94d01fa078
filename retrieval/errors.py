"""The one exception family a user may see: each carries a plain sentence saying what and where."""

from __future__ import annotations


class WikiqaError(Exception):
    """A failure the user can act on; front ends print ``str(err)`` and no traceback."""


class SourceError(WikiqaError):
    """Bad input in an ingestion source, located by source name and (for files) line."""

    def __init__(self, source: str, message: str, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.message = message
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {message}")


class StoreError(WikiqaError):
    """The article database could not be reached or refused an operation."""


class SnapshotError(WikiqaError):
    """No usable index snapshot (missing, being built, or damaged)."""
