"""Pieces every subcommand shares: settings, the store option, progress display and JSON output."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

if TYPE_CHECKING:
    from bot.settings import Settings
    from retrieval.storage.articles import ArticleStore

F = TypeVar("F", bound=Callable[..., Any])


class Advance(Protocol):
    def __call__(self, amount: int = 1, total: int | None = None, /) -> None: ...


def open_store(config: Settings) -> ArticleStore:
    from retrieval.storage.articles import ArticleStore

    return ArticleStore(config.database_url, timeouts=config.timeouts)


def settings(database_url: str | None = None) -> Settings:
    """The configuration, with the store replaced by ``--database`` when given."""
    from bot.settings import load_settings

    loaded = load_settings()
    return dataclasses.replace(loaded, database_url=database_url) if database_url else loaded


def database_option(command: F) -> F:
    """``--database URL``: the store a command reads or writes, instead of the configured one."""
    return click.option(
        "--database",
        "database_url",
        metavar="URL",
        help="Article store to use (default: WIKIQA_DATABASE_URL, else the SQLite file in WIKIQA_HOME).",
    )(command)


@contextmanager
def progress(description: str, total: int | None = None, *, unit: str = "items") -> Iterator[Advance]:
    """A progress bar with an estimate of the time left on stderr when it is a terminal; silent
    otherwise (pipes, CI, tests). ``advance(n, total)`` may set the total once it is known."""
    if not sys.stderr.isatty():
        yield lambda amount=1, total=None: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(amount: int = 1, new_total: int | None = None) -> None:
            if new_total is not None:
                bar.update(task, total=new_total)
            bar.advance(task, amount)

        yield advance


def as_text(value: str) -> str:
    """``value`` as text: bytes that were not UTF-8, which Python passes on from the command line
    (and a POSIX-locale stdin) as surrogate escapes, become U+FFFD, so nothing downstream (the
    tokenizers, the terminal, JSON) ever meets a lone surrogate."""
    if value.isascii():
        return value
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        raw = value.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def text_lines(stream: Any) -> Iterator[str]:
    """The lines of a text stream, read from its bytes where it has them, undecodable bytes as
    U+FFFD: Python's stdin would otherwise stop at the first one with a UnicodeDecodeError."""
    binary = getattr(stream, "buffer", None)
    if binary is None:
        yield from (as_text(line) for line in stream)
        return
    for raw in binary:
        yield raw.decode("utf-8", "replace")


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()
