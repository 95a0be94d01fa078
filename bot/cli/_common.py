"""Pieces every subcommand shares: settings, the store, progress display and JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.settings import Settings
    from retrieval.storage.articles import ArticleStore


class Advance(Protocol):
    def __call__(self, amount: int = 1, /) -> None: ...


def settings() -> Settings:
    from bot.settings import load_settings

    return load_settings()


def open_store(database_url: str | None = None) -> ArticleStore:
    from retrieval.storage.articles import ArticleStore

    return ArticleStore(database_url or settings().database_url)


@contextmanager
def progress(description: str, total: int | None = None, *, unit: str = "items") -> Iterator[Advance]:
    """A progress bar on stderr when it is a terminal; silent otherwise (pipes, CI, tests)."""
    if not sys.stderr.isatty():
        yield lambda amount=1: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda amount=1: bar.advance(task, amount)


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()
