"""``wikiqa serve``: the production services, then python-telegram-bot's ``run_polling`` or
``run_webhook`` until SIGINT/SIGTERM.

Start-up waits for an unreachable Bot API (a bot started before its network or a local Bot API
server would otherwise exit and rely on a supervisor): python-telegram-bot's bootstrap retries,
without limit. The wait, like an outage while polling, is told once by the requests'
:class:`~bot.telegram.api_outage.OutageLog`; a rejected token and any other refusal end
``wikiqa serve`` with one sentence.
"""

from __future__ import annotations

import hashlib
import logging
import os
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.settings import Settings
from bot.telegram import admin
from bot.telegram.app import api_urls, build_application
from bot.telegram.log_redaction import hide_in_logs, redact
from bot.telegram.services import AdminTools, Answers, BotServices, CorpusFacts, LocalAnswers
from retrieval.errors import WikiqaError

log = logging.getLogger(__name__)

HEARTBEAT_FILE = "bot.heartbeat"
# python-telegram-bot's bootstrap (getMe, deleteWebhook or setWebhook) tries again until it succeeds.
RETRY_FOREVER = -1


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
    # compiled search kernel, whose loading held the GIL for a third of a second (on a 2-core
    # x86_64 VM) and stalled every reply when the snapshot was first read after a reindex.
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
    logging.getLogger("telegram.ext").addFilter(_not_a_rejected_token)
    try:
        if webhook_url and host_port:
            application.run_webhook(
                listen=host_port[0],
                port=host_port[1],
                url_path=urlsplit(webhook_url).path.lstrip("/"),
                webhook_url=webhook_url,
                secret_token=webhook_secret(token),
                allowed_updates=Update.ALL_TYPES,
                bootstrap_retries=RETRY_FOREVER,
            )
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES, bootstrap_retries=RETRY_FOREVER)
    except InvalidToken:
        raise WikiqaError(
            "Telegram rejected the bot token in TELEGRAM_BOT_TOKEN; check it with @BotFather."
        ) from None
    except NetworkError as err:
        raise WikiqaError(f"cannot reach the Telegram Bot API at {api}: {redact(err.message)}.") from None
    except TelegramError as err:
        raise WikiqaError(f"the Telegram Bot API refused to start the bot: {redact(err.message)}.") from None


def _not_a_rejected_token(record: logging.LogRecord) -> bool:
    """python-telegram-bot logs a rejected token with its traceback; serve says it in one sentence."""
    return not (record.exc_info and isinstance(record.exc_info[1], InvalidToken))
