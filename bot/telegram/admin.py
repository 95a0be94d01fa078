"""Admin commands: ``/reindex`` (in the background, with a progress message) and ``/stats``.

Admins are the user ids in ``WIKIQA_ADMIN_IDS``; anyone else gets a polite refusal and the attempt
is logged. The reindex runs in a child process (see :mod:`bot.telegram.reindex_worker`) while the
bot keeps answering from the current snapshot; the finished snapshot is swapped in by the index
layer's atomic rename and picked up by the live snapshot without a restart.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram import Message, Update
from telegram.constants import MessageLimit
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.age import ago
from bot.settings import Settings
from bot.telegram.journal import LATENCY_WINDOW
from bot.telegram.services import BotServices, services_of
from retrieval.errors import SnapshotError, WikiqaError

log = logging.getLogger(__name__)
# A report is one message; its lists are bounded (bot.report.TOP_LISTED), and this keeps a report
# of very long questions within Telegram's limit.
MAX_REPORT_CHARS = MessageLimit.MAX_TEXT_LENGTH

# The progress message is edited at most this often (edits count against Telegram's limits).
PROGRESS_EDIT_SECONDS = 2.0


class SubprocessReindexer:
    """Runs the reindex worker with the bot's settings in its environment.

    ``-P`` keeps the working folder off the child's import path: started with ``-m`` alone, a
    ``bot/`` package in the folder the bot was started from would run instead of wikiqa's own.
    """

    def __init__(self, settings: Settings) -> None:
        # The folder this bot's code is loaded from comes first, so the child finds the same code
        # even when it is not installed (a checkout).
        code_root = str(Path(__file__).resolve().parents[2])
        self.env = {
            **os.environ,
            **settings.to_env(),
            "PYTHONPATH": os.pathsep.join(p for p in (code_root, os.environ.get("PYTHONPATH")) if p),
        }
        del self.env["TELEGRAM_BOT_TOKEN"]  # a reindex never talks to Telegram

    async def run(self, on_progress: Callable[[str], Awaitable[None]]) -> dict[str, Any]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-P",
            "-m",
            "bot.telegram.reindex_worker",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
        )
        stderr_task = asyncio.ensure_future(process.stderr.read())
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            async for raw in process.stdout:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if "progress" in line:
                    await on_progress(str(line["progress"]))
                elif "warning" in line:
                    log.warning("reindex: %s", line["warning"])
                elif "done" in line:
                    result = line["done"]
                elif "error" in line:
                    error = str(line["error"])
            code = await process.wait()
        except asyncio.CancelledError:
            with suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        stderr = (await stderr_task).decode(errors="replace").strip().splitlines()
        if error is not None:
            raise SnapshotError(error)
        if result is None:
            detail = stderr[-1] if stderr else "no output"
            raise SnapshotError(f"the reindex process stopped unexpectedly (exit code {code}): {detail}")
        return result


def is_admin(services: BotServices, update: Update) -> bool:
    user = update.effective_user
    return services.admin.allows(user.id if user else None)


async def _refuse(update: Update, command: str) -> None:
    user = update.effective_user
    log.warning(
        "refused /%s from non-admin user %s in chat %s",
        command,
        user.id if user else None,
        update.effective_chat.id if update.effective_chat else None,
    )
    await update.effective_message.reply_text(
        f"Sorry, /{command} is only for the bot's administrators. You can still ask me anything!"
    )


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Start a background reindex (admins only; one at a time)."""
    services = services_of(context)
    if not is_admin(services, update):
        await _refuse(update, "reindex")
        return
    if services.admin.reindexer is None:
        await update.effective_message.reply_text("Reindexing is not available in this deployment.")
        return
    if services.admin.running:
        await update.effective_message.reply_text(
            "A reindex is already running; I'll report in its progress message when it is done."
        )
        return
    services.admin.running = True  # set before the first await: a second /reindex sees it
    try:
        progress = await update.effective_message.reply_text("🔄 Reindex started: reading the articles…")
    except BaseException:
        services.admin.running = False
        raise
    context.application.create_task(_run_reindex(services, progress), update=update)


async def _run_reindex(services: BotServices, progress: Message) -> None:
    started = time.monotonic()
    last_edit = 0.0
    shown = progress.text

    async def edit(text: str) -> None:
        nonlocal shown
        if text == shown:
            return
        shown = text
        with suppress(BadRequest):
            await progress.edit_text(text)

    async def on_progress(line: str) -> None:
        nonlocal last_edit
        now = time.monotonic()
        if now - last_edit >= PROGRESS_EDIT_SECONDS:
            last_edit = now
            await edit(f"🔄 Reindexing ({int(now - started)} s): {line}")

    try:
        result = await services.admin.reindexer.run(on_progress)
    except SnapshotError as err:
        log.warning("reindex failed: %s", err)
        await edit(f"❌ Reindex failed: {err}")
        return
    except Exception as err:
        log.exception("reindex failed")
        await edit(f"❌ Reindex failed: {type(err).__name__}. The current snapshot stays in use.")
        return
    finally:
        services.admin.running = False
    # Load the new snapshot now, so the first question after the swap does not pay for it.
    await services.run_blocking(services.corpus.snapshot_info)
    await edit(
        f"✅ Reindex done in {time.monotonic() - started:.1f} s: {_n(result.get('articles'))} articles, "
        f"{_n(result.get('passages'))} passages, {_n(result.get('vocabulary'))} terms. "
        f"Now answering from snapshot {result.get('version')}."
    )
    log.info("reindex done: %s", result)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Questions served, latency, feedback and the snapshot (admins only)."""
    services = services_of(context)
    if not is_admin(services, update):
        await _refuse(update, "stats")
        return
    try:
        figures = await services.run_blocking(services.journal.stats)
    except WikiqaError as err:  # the store cannot be read: its reason, in one line each
        log.warning("/stats: %s", err)
        await update.effective_message.reply_text(f"I cannot read the statistics: {err}.")
        return
    info = await services.run_blocking(services.corpus.snapshot_info)
    lines = [
        "📊 <b>wikiqa statistics</b>",
        f"Questions served: {figures.questions_today:,} today, {figures.questions_total:,} in total",
        f"Answer latency: p50 {_ms(figures.latency_p50_ms)}, p99 {_ms(figures.latency_p99_ms)} "
        f"(last {LATENCY_WINDOW:,} questions)",
        f"Feedback: 👍 {figures.thumbs_up:,} · 👎 {figures.thumbs_down:,}",
    ]
    if info is None:
        lines.append("Snapshot: none loaded")
    else:
        lines.append(
            f"Snapshot {html.escape(info.version)}, built {ago(info.built_at)}: {info.articles:,} articles, "
            f"{info.passages:,} passages, {info.vocabulary:,} terms, {info.size_bytes / 1e6:.1f} MB"
        )
    if services.admin.running:
        lines.append("A reindex is running.")
    await update.effective_message.reply_html("\n".join(lines))


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/report [7d]``: questions, refusals, feedback and answer time from the journal (admins only)."""
    from bot.report import format_report, parse_since

    services = services_of(context)
    if not is_admin(services, update):
        await _refuse(update, "report")
        return
    period = (context.args or ["7d"])[0]
    try:
        since = parse_since(period, datetime.now(UTC))
    except ValueError:
        await update.effective_message.reply_text("Ask like this: /report 7d (or 24h, 2w).")
        return
    try:
        figures = await services.run_blocking(services.journal.report, since)
    except WikiqaError as err:
        log.warning("/report: %s", err)
        await update.effective_message.reply_text(f"I cannot read the journal: {err}.")
        return
    lines = [
        "📋 <b>wikiqa report</b>",
        *(html.escape(line, quote=False) for line in format_report(figures).splitlines()),
    ]
    # Whole lines are dropped from the end, so no entity is cut in two.
    while len(lines) > 2 and len("\n".join(lines)) > MAX_REPORT_CHARS:
        lines.pop()
    await update.effective_message.reply_html("\n".join(lines))


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"
