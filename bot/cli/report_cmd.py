"""``wikiqa report``: what the bot's journal says about its answers."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from bot.cli._common import database_option

EXAMPLES = """\b
Examples:
  wikiqa report
  wikiqa report --since 24h
  wikiqa report --since 2w --json
"""


@click.command(epilog=EXAMPLES)
@click.option(
    "--since",
    default="7d",
    show_default=True,
    help="How far back: a number of days (7d), hours (24h) or weeks (2w).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@database_option
def report(since: str, as_json: bool, database_url: str | None) -> None:
    """Report the questions the Telegram bot was asked and how they went.

    Questions per day and by language; the share answered, refused ("no good match") and rated
    👍 or 👎; p50 and p99 answer time; the questions most often refused and the answers rated 👎
    (question and the first quote's title). Read from the journal in the store's database.
    """
    from bot.cli._common import print_json, settings
    from bot.report import build_report, format_report, parse_since
    from retrieval.storage.journal import JournalTables

    try:
        start = parse_since(since, datetime.now(UTC))
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--since") from None
    config = settings(database_url)
    tables = JournalTables(config.database_url, timeouts=config.timeouts)
    try:
        result = build_report(tables.asked_since(start), start)
    finally:
        tables.close()
    if as_json:
        print_json(result.to_json())
    else:
        click.echo(format_report(result))
