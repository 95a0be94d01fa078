"""``wikiqa reindex``: rebuild the search snapshot from the article store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

import click

from bot.cli._common import Advance, database_option, print_json, progress, settings

if TYPE_CHECKING:
    from retrieval.semantic.embed import EmbedProgress

EXAMPLES = """\b
Examples:
  wikiqa reindex
  wikiqa reindex --json
  wikiqa reindex --no-semantic
  wikiqa reindex --database mysql+pymysql://wiki@db.example/wiki
"""


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


@click.command(epilog=EXAMPLES)
@click.option(
    "--semantic/--no-semantic",
    default=None,
    help="Embed passages for semantic search, or not (default: WIKIQA_SEMANTIC, else when installed). "
    "Only new or changed passages are embedded.",
)
@database_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def reindex(semantic: bool | None, database_url: str | None, as_json: bool) -> None:
    """Rebuild the search index snapshot from the article store.

    The new snapshot is built beside the live one and swapped in only when complete: questions
    keep being answered meanwhile, and an interrupted reindex leaves the live snapshot as it was.
    Only one reindex runs at a time. The store is read in one transaction, so the snapshot holds
    the articles as they were at one moment, even while an ingest writes.
    """
    from bot.corpus import rebuild_index

    config = settings(database_url)
    started = time.perf_counter()
    with progress("Indexing", None, unit="articles") as advance, embedding_progress() as embedded:
        info = rebuild_index(config, on_progress=advance, semantic=semantic, on_embed_progress=embedded)
    elapsed = time.perf_counter() - started
    if as_json:
        print_json(
            {
                "version": info.version,
                "path": str(info.path),
                "articles": info.articles,
                "passages": info.passages,
                "vocabulary": info.vocabulary,
                "size_bytes": info.size_bytes,
                "semantic": list(info.semantic),
                "elapsed_s": round(elapsed, 3),
            }
        )
        return
    vectors = f"passage vectors of {' and '.join(info.semantic)}" if info.semantic else "no passage vectors"
    click.echo(
        f"Indexed {info.passages:,} passages from {info.articles:,} articles: "
        f"vocabulary {info.vocabulary:,} terms, {vectors}, snapshot {_megabytes(info.size_bytes)} on disk, "
        f"{elapsed:.1f} s."
    )


@contextmanager
def embedding_progress() -> Iterator[EmbedProgress]:
    """One progress bar per table of vectors (passages, sentences), opened when its first texts
    are embedded (a reindex that reuses every vector shows none)."""
    with ExitStack() as bars:
        advances: dict[str, Advance] = {}

        def advance(role: str, amount: int, total: int) -> None:
            if role not in advances:
                unit = "sentences" if role.endswith("-sentences") else "passages"
                advances[role] = bars.enter_context(progress(f"Embedding {unit}", total, unit=unit))
            advances[role](amount)

        yield advance
