"""``wikiqa stats``: what is in the store and in the snapshot that answers questions."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

EXAMPLES = """\b
Examples:
  wikiqa stats
  wikiqa stats --json
"""


def _built_at(value: Any) -> datetime | None:
    """The snapshot's build time as an aware datetime, whatever form the snapshot keeps it in."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _age(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{int(seconds)} seconds"


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def collect(now: datetime | None = None) -> tuple[dict[str, Any], list[str]]:
    """The figures, and a list of what could not be read (each one plain sentence)."""
    from bot.cli._common import open_store, settings
    from retrieval.errors import WikiqaError

    config = settings()
    figures: dict[str, Any] = {
        "articles": None,
        "empty_articles": None,
        "passages": None,
        "vocabulary": None,
        "snapshot_version": None,
        "snapshot_built_at": None,
        "snapshot_age_seconds": None,
        "snapshot_size_bytes": None,
    }
    problems: list[str] = []
    try:
        store = open_store(config.database_url)
        try:
            figures["articles"], figures["empty_articles"] = store.counts()
        finally:
            store.close()
    except WikiqaError as err:
        problems.append(f"article store: {err}")
    try:
        from retrieval.index.publish import load_snapshot

        info = load_snapshot(config.snapshots_dir).info
    except WikiqaError as err:
        problems.append(f"snapshot: {err}")
    else:
        built = _built_at(info.built_at)
        now = now or datetime.now(UTC)
        figures.update(
            passages=info.passages,
            vocabulary=info.vocabulary,
            snapshot_version=str(info.version),
            snapshot_built_at=built.isoformat(timespec="seconds") if built else None,
            snapshot_age_seconds=round((now - built).total_seconds(), 1) if built else None,
            snapshot_size_bytes=info.size_bytes,
        )
    return figures, problems


@click.command(epilog=EXAMPLES)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def stats(as_json: bool) -> None:
    """Show the store's articles (and how many are empty) and the snapshot's passages,
    vocabulary, age and size on disk.

    What cannot be read (an unreachable database, no snapshot yet) is named on standard error,
    the rest is still shown, and the exit status is 1.
    """
    figures, problems = collect()
    if as_json:
        from bot.cli._common import print_json

        print_json(figures)
    else:

        def show(label: str, value: Any) -> None:
            click.echo(f"{label:<16}{'unavailable' if value is None else value}")

        show("articles", figures["articles"])
        show("empty articles", figures["empty_articles"])
        show("passages", figures["passages"])
        show("vocabulary", figures["vocabulary"])
        show("snapshot", figures["snapshot_version"])
        age = figures["snapshot_age_seconds"]
        show("built", figures["snapshot_built_at"] and f"{figures['snapshot_built_at']} ({_age(age)} ago)")
        size = figures["snapshot_size_bytes"]
        show("size on disk", None if size is None else _size(size))
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    if problems:
        sys.exit(1)
