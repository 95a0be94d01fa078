"""Fixtures for the retrieval tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from retrieval.index import writer


@pytest.fixture
def built_words(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, int]]:
    """The corpus words (surface word -> occurrences) of each build in this test, in build order:
    what the writer hands the spelling index, which keeps only the frequent ones."""
    builds: list[dict[str, int]] = []
    real = writer.write_spelling_index

    def capture(words: Iterable[tuple[str, int]], directory: Path) -> None:
        counts = dict(words)
        builds.append(counts)
        real(counts.items(), directory)

    monkeypatch.setattr(writer, "write_spelling_index", capture)
    return builds
