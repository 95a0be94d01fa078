"""``wikiqa serve``: run the Telegram bot."""

from __future__ import annotations

import logging

import click

from bot.cli._common import database_option

EXAMPLES = """\b
Examples:
  TELEGRAM_BOT_TOKEN=123:abc wikiqa serve
  wikiqa serve --workers 4 --database mysql+pymysql://wiki@db.example/wiki
  wikiqa serve --webhook https://bot.example.org/tg --listen 0.0.0.0:8443
"""


@click.command(epilog=EXAMPLES)
@click.option(
    "--webhook",
    "webhook_url",
    metavar="URL",
    help="Receive updates at this public HTTPS URL (behind a reverse proxy) instead of long polling.",
)
@click.option(
    "--listen",
    metavar="HOST:PORT",
    default="0.0.0.0:8443",
    show_default=True,
    help="Where the webhook server listens (with --webhook).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Processes answering questions (default: one per CPU; 0: threads of the bot process).",
)
@database_option
@click.option("-v", "--verbose", is_flag=True, help="Log every update handled (debug level).")
def serve(
    webhook_url: str | None, listen: str, workers: int | None, database_url: str | None, verbose: bool
) -> None:
    """Run the Telegram bot: long polling by default, or a webhook server with --webhook.

    The token comes from TELEGRAM_BOT_TOKEN (or .env); admins are the user ids in
    WIKIQA_ADMIN_IDS; TELEGRAM_API_BASE_URL points at a local Bot API server if you run one.
    SIGTERM or Ctrl-C stops the bot cleanly.
    """
    from bot.cli._common import settings
    from bot.telegram import serve as bot_serve
    from bot.telegram.log_redaction import hide_in_logs

    config = settings(database_url)
    hide_in_logs(bot_serve.require_token(config))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        logging.getLogger("telegram").setLevel(logging.WARNING)
    bot_serve.serve(config, webhook_url=webhook_url, listen=listen, answer_workers=workers)
