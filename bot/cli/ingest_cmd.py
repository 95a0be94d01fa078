"""``wikiqa ingest``: load articles into the store from files, folders or a live database table."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli import _common

EXAMPLES = """\b
Examples:
  wikiqa ingest data/
  wikiqa ingest dump.sql.gz articles.jsonl --skip-bad
  wikiqa ingest --from-db mysql+pymysql://reader@db.example/wiki --table wiki_article
"""


@click.command(epilog=EXAMPLES)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--from-db", "from_db", metavar="URL", help="Read a live table instead of files (SQLAlchemy URL)."
)
@click.option("--table", default="wiki_article", show_default=True, help="The table to read with --from-db.")
@click.option(
    "--skip-bad",
    is_flag=True,
    help="Skip malformed rows and unreadable files (listed on stderr); commit the rest.",
)
@_common.database_option
def ingest(
    paths: tuple[Path, ...], from_db: str | None, table: str, skip_bad: bool, database_url: str | None
) -> None:
    """Upsert articles by article_id from PATH... (seed .txt, .sql/.sql.gz dumps, .jsonl, folders
    of these) or from a live table (--from-db), one transaction per source.

    Prints one summary line. Exit code 0 on success, 1 if a source is bad or a database fails
    (nothing of that source is written), 2 on wrong usage.
    """
    if bool(paths) == bool(from_db):
        raise click.UsageError("give either PATH... or --from-db URL (one of the two).")
    if table != "wiki_article" and not from_db:
        raise click.UsageError("--table only applies with --from-db.")
    from retrieval.storage.ingest import ingest_database, ingest_paths

    store = _common.open_store(_common.settings(database_url))
    try:
        with _common.progress("Ingesting", None, unit="articles") as advance:
            if from_db:
                report = ingest_database(store, from_db, table=table, skip_bad=skip_bad, on_progress=advance)
            else:
                report = ingest_paths(store, list(paths), skip_bad=skip_bad, on_progress=advance)
    finally:
        store.close()
    for error in report.skipped:
        click.echo(f"skipped: {error}", err=True)
    click.echo(report.summary())
