"""``wikiqa stats``: what is in the store and in the snapshot that answers questions."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from bot.cli._common import database_option

EXAMPLES = """\b
Examples:
  wikiqa stats
  wikiqa stats --json
"""


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def collect(database_url: str | None = None, now: datetime | None = None) -> tuple[dict[str, Any], list[str]]:
    """The figures, and a list of what could not be read (each one plain sentence)."""
    from bot.age import built_at
    from bot.cli._common import open_store, settings
    from retrieval.errors import WikiqaError
    from retrieval.index.lock import is_locked
    from retrieval.index.publish import LOCK_FILE, load_snapshot
    from retrieval.semantic.encoders import describe, installed

    config = settings(database_url)
    figures: dict[str, Any] = {
        "articles": None,
        "empty_articles": None,
        "passages": None,
        "vocabulary": None,
        "snapshot_version": None,
        "snapshot_built_at": None,
        "snapshot_age_seconds": None,
        "snapshot_size_bytes": None,
        "reindex_running": is_locked(config.snapshots_dir / LOCK_FILE),
        "semantic_installed": [describe()["model"]] if installed() else [],
        "semantic": None,
        "reindex_embeds_again": False,
    }
    problems: list[str] = []
    try:
        store = open_store(config)
        try:
            figures["articles"], figures["empty_articles"] = store.counts()
        finally:
            store.close()
    except WikiqaError as err:
        problems.append(f"article store: {err}")
    try:
        snapshot = load_snapshot(config.snapshots_dir, warn=lambda text: problems.append(f"snapshot: {text}"))
    except WikiqaError as err:
        problems.append(f"snapshot: {err}")
        return figures, problems
    info = snapshot.info
    damaged = snapshot.manifest.verify(snapshot.folder)
    if damaged:
        problems.append(
            f"snapshot: the index snapshot {info.version} is damaged ({', '.join(damaged)} "
            f"no longer {'holds' if len(damaged) == 1 else 'hold'} what was written); run wikiqa reindex"
        )
    from retrieval.search.semantic import usable_vectors

    usable = usable_vectors(snapshot) is not None
    built = built_at(info.built_at)
    now = now or datetime.now(UTC)
    figures.update(
        passages=info.passages,
        vocabulary=info.vocabulary,
        snapshot_version=info.version,
        snapshot_built_at=built.isoformat(timespec="seconds") if built else None,
        snapshot_age_seconds=round((now - built).total_seconds(), 1) if built else None,
        snapshot_size_bytes=info.size_bytes,
        semantic=list(info.semantic) if usable else [],
        reindex_embeds_again=bool(figures["semantic_installed"]) and not usable,
    )
    return figures, problems


def search_mode(figures: dict[str, Any]) -> str:
    """Lexical only, or lexical with the semantic model that both the snapshot and the install have."""
    from retrieval.semantic.encoders import EXTRA_HINT

    if figures["semantic"]:
        return f"BM25 + semantic ({', '.join(figures['semantic'])})"
    if not figures["semantic_installed"]:
        return f"BM25 only ({EXTRA_HINT})"
    model = figures["semantic_installed"][0]
    return f"BM25 only (the snapshot has no {model} vectors: the next wikiqa reindex embeds every passage)"


@click.command(epilog=EXAMPLES)
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def stats(database_url: str | None, as_json: bool) -> None:
    """Show the store's articles (and how many are empty) and the snapshot's passages,
    vocabulary, age, size on disk and search mode (BM25 only, or with semantic search), after
    checking every file of the snapshot against the
    checksums written when it was built.

    What cannot be read (an unreachable database, no snapshot yet, a damaged snapshot) is named
    on standard error, the rest is still shown, and the exit status is 1.
    """
    figures, problems = collect(database_url)
    if as_json:
        from bot.cli._common import print_json

        print_json(figures)
    else:
        from bot.age import age

        def show(label: str, value: Any) -> None:
            click.echo(f"{label:<16}{'unavailable' if value is None else value}")

        show("articles", figures["articles"])
        show("empty articles", figures["empty_articles"])
        show("passages", figures["passages"])
        show("vocabulary", figures["vocabulary"])
        show("snapshot", figures["snapshot_version"])
        seconds = figures["snapshot_age_seconds"]
        built = figures["snapshot_built_at"]
        show("built", built and f"{built} ({age(seconds)} ago)")
        size = figures["snapshot_size_bytes"]
        show("size on disk", None if size is None else _size(size))
        show("reindex", "running" if figures["reindex_running"] else "not running")
        show("search", search_mode(figures))
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    if problems:
        sys.exit(1)
