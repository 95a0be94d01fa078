"""The Telegram application: built in one place, run by long polling or behind a webhook.

``wikiqa serve`` calls :func:`serve`; the end-to-end tests call :func:`build_application` with the
same arguments, only with the Bot API base URL pointing at a stand-in server.

:func:`run` does what python-telegram-bot's ``run_polling``/``run_webhook`` do, with two changes
they do not offer: start-up waits for an unreachable Bot API instead of exiting, and failed polls
are told by the polling client's :class:`~bot.telegram.transport.OutageLog` in two lines rather
than each passed to the error handler, which logged a traceback per poll.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import hashlib
import logging
import os
import signal
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import FloodLimit
from telegram.error import InvalidToken, NetworkError, TelegramError
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

from bot.settings import Settings
from bot.telegram import admin, handlers
from bot.telegram.inline import inline_query
from bot.telegram.services import SERVICES_KEY, AdminTools, Answers, BotServices, CorpusFacts, LocalAnswers
from bot.telegram.transport import (
    AiohttpRequest,
    ApiUnavailable,
    Backoff,
    OutageLog,
    RetryingRateLimiter,
    RetryPolicy,
)
from retrieval.errors import WikiqaError

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
# At Telegram's 30 messages/s and ~100 ms round trips about 3 requests are in flight, and a local
# Bot API server answers in about a millisecond, so 8 connections serve both deployments;
# requests beyond them wait up to POOL_TIMEOUT.
CONNECTION_POOL_SIZE = 8
POOL_TIMEOUT_SECONDS = 30.0
HEARTBEAT_FILE = "bot.heartbeat"
HEARTBEAT_SECONDS = 15.0
CONCURRENT_UPDATES = 64
HTTP_CLIENTS_KEY = "http_clients"
# Waiting for the Bot API at start-up: 1, 2, 4 ... s (each with jitter), then every 30 s at most.
CONNECT_BACKOFF = Backoff(first=1.0, cap=30.0)
RETRY_POLICY = RetryPolicy()
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def api_urls(base_url: str | None) -> tuple[str, str]:
    """(base_url, base_file_url) for python-telegram-bot from ``TELEGRAM_API_BASE_URL``.

    The setting is the server's root (``http://127.0.0.1:8081``); a trailing ``/bot`` is accepted.
    """
    root = (base_url or TELEGRAM_API).rstrip("/")
    root = root.removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


# ----------------------------------------------------------------------------- keeping the token secret
_SECRETS: set[str] = set()
_factory_installed = False


def redact(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "<token>")
    return text


def hide_in_logs(secret: str) -> None:
    """Replace ``secret`` by ``<token>`` in every log record from now on, whoever logs it.

    The Bot API puts the token in every request URL, which HTTP clients log and put in their
    exception texts; a record factory catches those and anything else before any handler sees it.
    """
    global _factory_installed
    if len(secret) >= 8:
        _SECRETS.add(secret)
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:
            return record
        if any(secret in message for secret in _SECRETS):
            record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            if any(secret in text for secret in _SECRETS):
                record.exc_text = redact(text)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


# ----------------------------------------------------------------------------- building
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
    and a request that failed on the way is sent again as ``retry`` allows."""
    hide_in_logs(token)
    opt_in_to_timedelta_periods()
    base_url, base_file_url = api_urls(api_base_url)
    polling = AiohttpRequest(1, outage=OutageLog(base_url.removesuffix("/bot")))
    clients = (AiohttpRequest(CONNECTION_POOL_SIZE, pool_timeout=POOL_TIMEOUT_SECONDS), polling)
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
    # Everything loaded so far (libraries, the application, the services) lives as long as the
    # bot: keep it out of the collector's full passes, which otherwise walk it every so often and
    # stop the event loop for tens of milliseconds, a stall every reply then waits out.
    gc.freeze()
    log.info("wikiqa bot @%s is ready", application.bot.username)


async def _post_shutdown(application: Application) -> None:
    heartbeat = application.bot_data.pop("heartbeat", None)
    if heartbeat is not None:
        heartbeat.cancel()
    application.bot_data[SERVICES_KEY].close()
    # The bot closes its clients only if it started; after a failed start (a rejected token)
    # they would stay open and aiohttp would complain at exit.
    for client in application.bot_data[HTTP_CLIENTS_KEY]:
        await client.shutdown()
    log.info("wikiqa bot stopped")


# ----------------------------------------------------------------------------- running
def services_from_settings(
    settings: Settings, token: str, *, answer_workers: int | None = None
) -> BotServices:
    """The production services: answers, corpus facts, admin tools, journal, limits.

    ``answer_workers`` processes answer questions (default: one per CPU); 0 answers on threads
    of this process instead.
    """
    from bot.telegram.journal import Journal
    from bot.telegram.keyboards import ButtonCodec
    from bot.telegram.ratelimit import UserRateLimiter
    from retrieval.index.live import LiveSnapshot

    workers = (os.cpu_count() or 1) if answer_workers is None else answer_workers
    # With worker processes, this process only reads snapshot facts (/about, /help): it needs no
    # compiled search kernel, whose loading holds the GIL for a third of a second and stalled
    # every reply when the snapshot was first read after a reindex.
    snapshots = LiveSnapshot(settings.snapshots_dir, accelerate=workers == 0)
    answers: Answers
    if workers > 0:
        from bot.telegram.answer_pool import AnswerPool

        answers = AnswerPool(settings.snapshots_dir, workers=workers)
    else:
        from bot.answer import Answerer

        answers = LocalAnswers(Answerer(snapshots))
    return BotServices(
        answers=answers,
        corpus=CorpusFacts(snapshots),
        admin=AdminTools(settings.admin_ids, admin.SubprocessReindexer(settings)),
        journal=Journal(settings.database_url, timeouts=settings.timeouts),
        limiter=UserRateLimiter(settings.rate_limit_per_minute),
        codec=ButtonCodec(token.encode()),
        heartbeat=settings.home / HEARTBEAT_FILE,
    )


def webhook_secret(token: str) -> str:
    """The secret Telegram sends with each webhook call: derived from the token, so every replica
    computes the same one without sharing more configuration."""
    return hashlib.sha256(b"wikiqa-webhook:" + token.encode()).hexdigest()[:32]


def parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise WikiqaError(f"--listen '{listen}' is not HOST:PORT (for example 0.0.0.0:8443).")
    return host.strip("[]"), int(port)


def require_token(settings: Settings) -> str:
    token = (settings.telegram_token or "").strip()
    if not token:
        raise WikiqaError(
            "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in "
            "TELEGRAM_BOT_TOKEN (or in a .env file)."
        )
    return token


def ensure_snapshot(settings: Settings) -> None:
    """Make sure there is a snapshot to answer from before the bot comes up.

    A fresh install (empty store) loads the bundled articles, seed included, and builds the index;
    a store with articles but no whole snapshot (a new volume, a first container start against a
    filled database, a damaged snapshot with nothing kept to stand in) gets one built from the store.
    """
    from bot.corpus import open_snapshot, rebuild_index
    from retrieval.errors import SnapshotError

    try:
        open_snapshot(settings, warn=log.warning)
    except SnapshotError as err:
        log.info("%s: building a snapshot from the store", err)
        rebuild_index(settings, warn=log.warning)


def serve(
    settings: Settings,
    *,
    webhook_url: str | None = None,
    listen: str | None = None,
    answer_workers: int | None = None,
    connect_backoff: Backoff = CONNECT_BACKOFF,
) -> None:
    """Run the bot until SIGINT/SIGTERM: long polling, or a webhook server when ``webhook_url``."""
    token = require_token(settings)
    hide_in_logs(token)
    settings.check_bot()
    host_port = parse_listen(listen or "0.0.0.0:8443") if webhook_url else None
    ensure_snapshot(settings)
    services = services_from_settings(settings, token, answer_workers=answer_workers)
    application = build_application(services, token=token, api_base_url=settings.telegram_api_base_url)
    api = api_urls(settings.telegram_api_base_url)[0].removesuffix("/bot")
    updater = application.updater
    assert updater is not None
    if webhook_url and host_port:
        receive = functools.partial(
            updater.start_webhook,
            listen=host_port[0],
            port=host_port[1],
            url_path=urlsplit(webhook_url).path.lstrip("/"),
            webhook_url=webhook_url,
            secret_token=webhook_secret(token),
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        receive = functools.partial(
            updater.start_polling,
            allowed_updates=Update.ALL_TYPES,
            error_callback=functools.partial(on_polling_error, application),
        )
    try:
        asyncio.run(run(application, receive, api=api, backoff=connect_backoff))
    except InvalidToken:
        raise WikiqaError(
            "Telegram rejected the bot token in TELEGRAM_BOT_TOKEN; check it with @BotFather."
        ) from None
    except NetworkError as err:
        raise WikiqaError(f"cannot reach the Telegram Bot API at {api}: {redact(err.message)}.") from None
    except TelegramError as err:
        raise WikiqaError(f"the Telegram Bot API refused to start the bot: {redact(err.message)}.") from None


async def run(
    application: Application,
    receive: Callable[[], Awaitable[Any]],
    *,
    api: str,
    backoff: Backoff = CONNECT_BACKOFF,
) -> None:
    """Start the bot, receive updates (``receive`` starts the updater) until SIGINT/SIGTERM, stop.

    The order is python-telegram-bot's own (initialize, post_init, the updater, start; then the
    reverse), and a stop signal ends any step at once, waiting for the Bot API included.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in STOP_SIGNALS:
        loop.add_signal_handler(number, stop.set)
    try:
        if await _unless_stopped(stop, _start(application, receive, api=api, backoff=backoff)):
            await stop.wait()
    finally:
        for number in STOP_SIGNALS:
            loop.remove_signal_handler(number)
        await _stop(application)


async def _start(
    application: Application, receive: Callable[[], Awaitable[Any]], *, api: str, backoff: Backoff
) -> None:
    await connect(application, api=api, backoff=backoff)
    await application.post_init(application)
    await receive()
    await application.start()


async def _unless_stopped(stop: asyncio.Event, step: Coroutine[Any, Any, None]) -> bool:
    """Run ``step`` unless ``stop`` is set first, which cancels it: whether it ran to its end."""
    task = asyncio.ensure_future(step)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False
    task.result()  # raises what the step raised
    return True


async def _stop(application: Application) -> None:
    """Undo whatever of the start-up happened, as python-telegram-bot's run_polling does."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    await application.post_shutdown(application)


async def connect(application: Application, *, api: str, backoff: Backoff = CONNECT_BACKOFF) -> None:
    """Initialize the application (its getMe), waiting as long as the Bot API cannot be reached.

    A bot started before its network or a local Bot API server (a container restart, a host
    boot) would otherwise exit at once and rely on a supervisor to start it again. The wait is
    said once; a rejected token (401/404) and any other refusal are raised at once.
    """
    failures = 0
    while True:
        try:
            await application.initialize()
        except ApiUnavailable as err:
            failures += 1
            if failures == 1:
                log.warning(
                    "cannot reach the Telegram Bot API at %s (%s); retrying, at least every %g s",
                    api,
                    redact(err.message),
                    backoff.cap,
                )
            await asyncio.sleep(backoff.delay(failures))
            continue
        if failures:
            log.info("reached the Telegram Bot API at %s after %d failed attempts", api, failures)
        return


def on_polling_error(application: Application, err: TelegramError) -> None:
    """The updater's ``error_callback``: what a failed poll does with its error.

    The Bot API being unreachable is the polling client's :class:`OutageLog` to tell, once; any
    other error (a 409 from a second instance polling with the same token) goes to the error
    handlers, as python-telegram-bot's run_polling does with all of them.
    """
    if isinstance(err, ApiUnavailable):
        log.debug("polling failed: %s", err.message)
        return
    application.create_task(application.process_error(update=None, error=err))
