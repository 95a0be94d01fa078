"""The Telegram application, built in one place: python-telegram-bot's ``Application`` with every
handler, its requests and rate limiter, and what it does on start-up and shut-down.

``wikiqa serve`` (:mod:`bot.telegram.serve`) runs it with ``run_polling``/``run_webhook``; the
end-to-end tests and the bot benchmark call :func:`build_application` with the same arguments,
only with the Bot API base URL pointing at a stand-in server.
"""

from __future__ import annotations

import asyncio
import logging
import os

from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import FloodLimit
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.telegram import admin, handlers
from bot.telegram.api_outage import OutageLog
from bot.telegram.api_request import BotApiRequest
from bot.telegram.api_retry import RetryingRateLimiter, RetryPolicy
from bot.telegram.inline import inline_query
from bot.telegram.log_redaction import hide_in_logs
from bot.telegram.services import SERVICES_KEY, BotServices
from retrieval.long_lived import freeze_long_lived

log = logging.getLogger(__name__)

TELEGRAM_API = "https://api.telegram.org"
COMMANDS = (
    BotCommand("ask", "Ask a question (in groups: /ask your question)"),
    BotCommand("help", "How to ask, with examples"),
    BotCommand("about", "What I know and how fresh it is"),
    BotCommand("start", "Start talking to me"),
    BotCommand("new", "Start a new conversation (forget the subject)"),
)
RETRY_AFTER_RETRIES = 3
HEARTBEAT_SECONDS = 15.0
CONCURRENT_UPDATES = 64
HTTP_CLIENTS_KEY = "http_clients"
RETRY_POLICY = RetryPolicy()


def api_urls(base_url: str | None) -> tuple[str, str]:
    """(base_url, base_file_url) for python-telegram-bot from ``TELEGRAM_API_BASE_URL``.

    The setting is the server's root (``http://127.0.0.1:8081``); a trailing ``/bot`` is accepted.
    """
    root = (base_url or TELEGRAM_API).rstrip("/")
    root = root.removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


def build_application(
    services: BotServices,
    *,
    token: str,
    api_base_url: str | None = None,
    max_retries: int = RETRY_AFTER_RETRIES,
    overall_max_rate: float = FloodLimit.MESSAGES_PER_SECOND,
    group_max_rate: float = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
    concurrent_updates: int = CONCURRENT_UPDATES,
    retry: RetryPolicy = RETRY_POLICY,
) -> Application:
    """The bot with every handler wired. ``overall_max_rate=0`` lifts the 30 messages/s ceiling
    (for a local Bot API server); a 429 from Telegram is waited out up to ``max_retries`` times,
    and a request that failed on the way is sent again as ``retry`` allows.

    Its requests are python-telegram-bot's own, with its defaults (as ``ApplicationBuilder``
    makes them: one connection for ``getUpdates``), and share one :class:`OutageLog`.
    """
    hide_in_logs(token)
    opt_in_to_timedelta_periods()
    base_url, base_file_url = api_urls(api_base_url)
    outage = OutageLog(base_url.removesuffix("/bot"))
    clients = (BotApiRequest(outage=outage), BotApiRequest(outage=outage, connection_pool_size=1))
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .rate_limiter(
            RetryingRateLimiter(
                retry=retry,
                overall_max_rate=overall_max_rate,
                group_max_rate=group_max_rate,
                max_retries=max_retries,
            )
        )
        .concurrent_updates(concurrent_updates)
        .request(clients[0])
        .get_updates_request(clients[1])
        .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data[SERVICES_KEY] = services
    application.bot_data[HTTP_CLIENTS_KEY] = clients
    add_handlers(application)
    return application


def opt_in_to_timedelta_periods() -> None:
    """Take python-telegram-bot's time periods as ``timedelta`` now, as its next major version will.

    Until then, every ``RetryAfter`` it builds for a 429 reads its own deprecated integer
    ``retry_after`` and logs a deprecation warning, although this bot never reads a time period
    (the rate limiter uses the timedelta). Opting in is PTB's documented way out; an explicit
    ``PTB_TIMEDELTA`` in the environment is left alone.
    """
    os.environ.setdefault("PTB_TIMEDELTA", "true")


def add_handlers(application: Application) -> None:
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("start", handlers.start))
    application.add_handler(CommandHandler("help", handlers.help_command))
    application.add_handler(CommandHandler("about", handlers.about))
    application.add_handler(CommandHandler("ask", handlers.ask_command))
    application.add_handler(CommandHandler("new", handlers.new_conversation))
    application.add_handler(CommandHandler("reindex", admin.reindex))
    application.add_handler(CommandHandler("stats", admin.stats))
    application.add_handler(CommandHandler("report", admin.report))
    application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, handlers.private_text))
    application.add_handler(MessageHandler(private & filters.COMMAND, handlers.unknown_command))
    application.add_handler(MessageHandler(groups & filters.TEXT & ~filters.COMMAND, handlers.group_text))
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_handler(InlineQueryHandler(inline_query))
    application.add_error_handler(handlers.on_error)


async def _post_init(application: Application) -> None:
    """Register the commands and load the snapshot before the first question arrives."""
    await application.bot.set_my_commands(list(COMMANDS))
    services: BotServices = application.bot_data[SERVICES_KEY]
    try:
        await services.answers.warm_up()
    except Exception as err:  # a missing snapshot is reported to users per question, not fatal here
        log.warning("could not warm up the answering service: %s", err)
    # Not application.create_task: Application.stop() waits for those, and this one never ends.
    application.bot_data["heartbeat"] = asyncio.ensure_future(services.beat(HEARTBEAT_SECONDS))
    freeze_long_lived()
    log.info("wikiqa bot @%s is ready", application.bot.username)


async def _post_shutdown(application: Application) -> None:
    heartbeat = application.bot_data.pop("heartbeat", None)
    if heartbeat is not None:
        heartbeat.cancel()
    application.bot_data[SERVICES_KEY].close()
    # The bot closes its requests only if it started; after a failed start (a rejected token)
    # they would stay open.
    for client in application.bot_data[HTTP_CLIENTS_KEY]:
        await client.shutdown()
    log.info("wikiqa bot stopped")
