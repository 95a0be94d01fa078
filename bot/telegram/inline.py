"""Inline mode: ``@bot question`` in any chat offers up to 10 quotes; picking one sends it."""

from __future__ import annotations

import logging

from telegram import InlineQueryResultArticle, InputTextMessageContent, LinkPreviewOptions, Update
from telegram.constants import InlineQueryLimit, ParseMode
from telegram.ext import ContextTypes

from bot.answer import Quote
from bot.telegram.render_html import render_single
from bot.telegram.services import services_of

log = logging.getLogger(__name__)

MAX_RESULTS = 10
SNIPPET_CHARS = 120
CACHE_SECONDS = 300


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of ``text`` on one line, cut at a word boundary with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def result_for(index: int, quote: Quote) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=str(index),
        title=(quote.title or quote.article_id)[:100],
        description=snippet(quote.text),
        input_message_content=InputTextMessageContent(
            render_single(quote),
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
    )


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer an inline query with the best quotes (title + snippet)."""
    services = services_of(context)
    query = update.inline_query
    question = query.query.strip()[: InlineQueryLimit.MAX_QUERY_LENGTH]
    if not question:
        await query.answer([], cache_time=CACHE_SECONDS)
        return
    quotes = await services.inline_quotes(question, MAX_RESULTS)
    await query.answer([result_for(i, q) for i, q in enumerate(quotes)], cache_time=CACHE_SECONDS)
