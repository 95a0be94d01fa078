"""Conversations: questions in private chats and groups, the buttons under answers, the help texts.

In a private chat any text is a question. In a group the bot answers ``/ask ...``, messages that
mention it and replies to its own messages, and stays silent on everything else. A private chat is
one conversation, and so is each thread of replies to the bot in a group: a follow-up ("When was
it founded?") is answered about the subject of the answer before it (``bot.conversation``), and
/new starts afresh. Greetings, thanks and "help" get a short reply, never quotes.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from contextlib import suppress
from datetime import UTC, datetime

from telegram import Chat, Message, MessageEntity, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot.age import ago
from bot.answer import Answer
from bot.conversation import Context
from bot.smalltalk import recognise
from bot.smalltalk import reply as smalltalk_reply
from bot.telegram.api_request import ApiUnavailable
from bot.telegram.journal import QuestionRecord
from bot.telegram.keyboards import Action, InvalidButton, new_ref
from bot.telegram.ratelimit import Verdict
from bot.telegram.render_html import render_answer
from bot.telegram.services import BotServices, services_of

log = logging.getLogger(__name__)

# Show "typing…" only when an answer takes longer than this: about when a wait starts to feel
# like one. Fast answers then cost one request, and an overloaded bot, whose answers all wait,
# does not double its requests with typing actions (at 0.3 s, nearly every answer in
# benchmarks/bot.py's closed loop came with one).
TYPING_AFTER_SECONDS = 1.0


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet a new user and show how to ask."""
    services = services_of(context)
    name = html.escape(update.effective_user.first_name if update.effective_user else "there")
    examples = await services.run_blocking(services.corpus.help_examples)
    await update.effective_message.reply_html(
        f"Hello, {name}! I answer questions by quoting the articles I know.\n\n" + _how_to_ask(examples)
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """How to ask, with example questions from the corpus."""
    services = services_of(context)
    examples = await services.run_blocking(services.corpus.help_examples)
    await update.effective_message.reply_html(
        _how_to_ask(examples)
        + "\n\nUnder each answer, <b>More ▸</b> shows further quotes, and 👍 / 👎 tell me how I did."
        "\nAsk a follow-up such as <i>When was it founded?</i> and I keep to the subject; /new starts afresh."
        "\n/about tells you what I know."
    )


async def about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Corpus size and snapshot age."""
    services = services_of(context)
    info = await services.run_blocking(services.corpus.snapshot_info)
    if info is None:
        text = "My index is not loaded yet; please try again in a minute."
    else:
        text = (
            f"I answer from {info.articles:,} articles ({info.passages:,} passages), "
            f"indexed {ago(info.built_at)}. "
            "Each answer quotes the passages that best match your question, with a link to its source."
        )
    await update.effective_message.reply_html(text)


def _how_to_ask(examples: tuple[str, ...]) -> str:
    examples_html = "\n".join(f"• <i>{html.escape(q)}</i>" for q in examples[:4])
    return (
        "Just send me a question in plain words, for example:\n"
        f"{examples_html}\n\n"
        "In a group, write <code>/ask your question</code>, mention me, or reply to one of my messages. "
        "In any chat, type my @username and a question to share a quote inline."
    )


async def new_conversation(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/new``: forget the conversation so far; the next question is asked afresh."""
    services = services_of(context)
    if update.effective_user is not None:
        services.contexts.forget(("user", update.effective_user.id))
    await update.effective_message.reply_text("Starting afresh: ask me about anything.")


def _conversation_key(message: Message, chat: Chat, user_id: int, bot_id: int) -> tuple | None:
    """Whose conversation a question continues: a private chat's (per user), or in a group the
    thread of the bot's message it replies to; None for a group question that starts one."""
    if chat.type == Chat.PRIVATE:
        return ("user", user_id)
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return ("reply", chat.id, replied.message_id)
    return None


async def _small_talk(services: BotServices, message: Message, question: str) -> bool:
    """Reply to a greeting, thanks, "who are you" or "help" in its language; False for a question."""
    talk = recognise(question)
    if talk is None:
        return False
    examples = await services.run_blocking(services.corpus.help_examples)
    text, shown = smalltalk_reply(talk, examples)
    lines = [html.escape(text, quote=False), *(f"• <i>{html.escape(q, quote=False)}</i>" for q in shown)]
    await message.reply_html("\n".join(lines))
    return True


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/ask question`` (groups and private chats)."""
    message = update.effective_message
    text = message.text or ""
    # Everything after the command itself, line breaks and spacing kept.
    _, _, question = text.partition(" ")
    if not question.strip():
        await message.reply_text("Ask like this: /ask When was the Collective Security Treaty signed?")
        return
    await answer_question(update, context, question)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    await answer_question(update, context, update.effective_message.text or "")


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups: answer mentions of the bot and replies to it; ignore everything else."""
    message = update.effective_message
    question = addressed_question(message, context.bot.id, context.bot.username)
    if question is None:
        return
    await answer_question(update, context, question)


def addressed_question(message: Message, bot_id: int, bot_username: str) -> str | None:
    """The question in a group message meant for the bot, or None when it is not meant for it."""
    text = message.text or ""
    mention = f"@{bot_username}".casefold()
    mentioned = False
    for value in message.parse_entities([MessageEntity.MENTION]).values():
        if value.casefold() == mention:
            mentioned = True
            text = text.replace(value, " ", 1)
    replied = message.reply_to_message is not None and (
        message.reply_to_message.from_user is not None and message.reply_to_message.from_user.id == bot_id
    )
    if not (mentioned or replied):
        return None
    return " ".join(text.split())


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    """Rate-limit, answer off the event loop, reply in HTML with the keyboard, journal it."""
    services = services_of(context)
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    started = time.perf_counter()
    if _still_blocked(context, chat.id, message.date):
        return
    if not await _within_rate_limit(services, message, user.id):
        return
    question = question.strip()
    if not question:
        await message.reply_text("Please send me a question in words.")
        return
    if await _small_talk(services, message, question):
        return
    key = _conversation_key(message, chat, user.id, context.bot.id)
    before = services.contexts.get(key) if key is not None else None
    answer = await _answer_with_typing(services, chat, question, page=1, context=before)
    notice = None
    if answer.truncated:
        notice = f"Your question was long, so I used its first {len(answer.question):,} characters."
    ref = new_ref()
    parts = render_answer(answer, notice=notice)
    keyboard = services.codec.answer_keyboard(ref, 1, has_more=answer.has_more)
    sent: list[Message] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        sent.append(
            await message.reply_text(part, parse_mode=ParseMode.HTML, reply_markup=keyboard if last else None)
        )
    _remember(services, key, chat, sent, ref, before, answer)
    latency_ms = (time.perf_counter() - started) * 1000
    services.journal.record_question(
        QuestionRecord(
            ref=ref,
            conversation_id=chat.id,
            user_id=user.id,
            question=question,
            snapshot_version=answer.snapshot_version,
            answer_shown=_shown(answer),
            quotes=len(answer.quotes),
            no_match=answer.no_match,
            latency_ms=latency_ms,
            asked_at=datetime.now(UTC),
            first_title=answer.quotes[0].title if answer.quotes else None,
        )
    )


def _remember(
    services: BotServices,
    key: tuple | None,
    chat: Chat,
    sent: list[Message],
    ref: str,
    before: Context | None,
    answer: Answer,
) -> None:
    """Keep what the conversation's next question may lean on: under the private chat's key, and
    in a group under each message of the answer (a reply to any of them continues the thread);
    and the context a follow-up was answered with, for its "More"."""
    after = Context.after(answer, before)
    if chat.type == Chat.PRIVATE and key is not None:
        services.contexts.put(key, after)
    elif after is not None:
        for reply in sent:
            services.contexts.put(("reply", chat.id, reply.message_id), after)
    if answer.about is not None and before is not None:
        services.contexts.put(("more", ref), before)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The buttons under an answer: More (the next page, as new messages), 👍 and 👎."""
    services = services_of(context)
    query = update.callback_query
    try:
        press = services.codec.decode(query.data)
    except InvalidButton as err:
        log.info("ignored button from user %s: %s", query.from_user.id, err)
        await query.answer("Sorry, I can't use that button. Please ask your question again.")
        return
    if press.action in (Action.UP, Action.DOWN):
        services.journal.record_vote(press.ref, query.from_user.id, 1 if press.action is Action.UP else -1)
        await query.answer("Thanks for the feedback!" if press.action is Action.UP else "Thanks, noted.")
        return
    question = services.journal.cached_question(press.ref)
    if question is None:
        question = await services.run_blocking(services.journal.question, press.ref)
    if question is None:
        await query.answer("That answer is too old to continue. Please ask again.")
        return
    verdict = services.limiter.check(query.from_user.id)
    if verdict is not Verdict.ALLOW:
        await query.answer("You're asking very fast; please wait a moment before the next page.")
        return
    conversation = services.contexts.get(("more", press.ref))
    answer = await services.answers.answer(question, page=press.page, context=conversation)
    parts = render_answer(answer)
    keyboard = services.codec.answer_keyboard(press.ref, press.page, has_more=answer.has_more)
    await query.answer()
    # The next page comes as new messages under the one pressed, which keeps its page (the answer
    # line with it) and loses only its "More", so that it is not pressed twice.
    message = query.message
    reply_to = message.message_id if isinstance(message, Message) else None
    if isinstance(message, Message):
        with suppress(BadRequest):  # "message is not modified" after a double press
            await message.edit_reply_markup(
                services.codec.answer_keyboard(press.ref, press.page - 1, has_more=False)
            )
    for index, part in enumerate(parts):
        await context.bot.send_message(
            update.effective_chat.id,
            part,
            parse_mode=ParseMode.HTML,
            reply_to_message_id=reply_to if index == 0 else None,
            reply_markup=keyboard if index == len(parts) - 1 else None,
        )


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the update id and the exception; tell the user something went wrong (no traceback).

    The Bot API failing on the way (a request it answered 5xx or never answered, after the
    retries of :class:`~bot.telegram.api_retry.RetryPolicy`) is an outage, not a bug in the bot:
    one line with the update and the reason, where a traceback per lost reply would bury the log.
    Anything else keeps its traceback.
    """
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    chat = update.effective_chat if isinstance(update, Update) else None
    if isinstance(error, Forbidden) and chat is not None:
        # The user blocked the bot (or it left the group): nothing can be sent there, an apology
        # neither, and its messages sent before are not answered (see _still_blocked).
        _blocked_chats(context)[chat.id] = datetime.now(UTC)
        log.info(
            "update %s: chat %s refuses the bot's messages (%s); not answering it until it writes again",
            update_id,
            chat.id,
            _reason(error),
        )
        return
    if update is None and is_outage(error):
        # A failed poll: python-telegram-bot polls again, and the requests' OutageLog says once
        # that the API is unreachable and once that it answers again.
        log.debug("polling failed: %s", _reason(error))
        return
    if is_outage(error):
        log.warning("update %s: gave up on the Telegram Bot API: %s", update_id, _reason(error))
    else:
        log.error("update %s failed: %r", update_id, error, exc_info=error)
    if not isinstance(update, Update):
        return
    with suppress(TelegramError):
        if update.callback_query is not None:
            await update.callback_query.answer("Sorry, something went wrong. Please try again.")
        elif update.effective_chat is not None and update.inline_query is None:
            await context.bot.send_message(
                update.effective_chat.id, "Sorry, something went wrong. Please try again in a moment."
            )


def _blocked_chats(context: ContextTypes.DEFAULT_TYPE) -> dict[int, datetime]:
    """Chat id -> when a send to it was refused with 403 (the user blocked the bot)."""
    return context.bot_data.setdefault("wikiqa_blocked_chats", {})


def _still_blocked(context: ContextTypes.DEFAULT_TYPE, chat_id: int, written: datetime | None) -> bool:
    """Whether a message written at ``written`` comes from a chat that refused the bot's messages
    since: a message written before the refusal (queued while the user blocked the bot) is not
    answered; one written after it means the chat takes messages again."""
    blocked = _blocked_chats(context)
    since = blocked.get(chat_id)
    if since is None:
        return False
    if written is not None and written <= since.replace(microsecond=0):
        return True
    del blocked[chat_id]
    return False


def is_outage(error: BaseException | None) -> bool:
    """Whether ``error`` is the Bot API being unavailable (a network failure, a 5xx, a timeout)
    rather than a request it refused (``BadRequest`` is a ``NetworkError`` too, but a bug)."""
    return isinstance(error, ApiUnavailable) or (
        isinstance(error, NetworkError) and not isinstance(error, BadRequest)
    )


def _reason(error: BaseException) -> str:
    text = error.message if isinstance(error, TelegramError) else str(error)
    return " ".join(text.split()) or type(error).__name__


async def _within_rate_limit(services: BotServices, message: Message, user_id: int) -> bool:
    verdict = services.limiter.check(user_id)
    if verdict is Verdict.ALLOW:
        return True
    if verdict is Verdict.NOTIFY:
        wait = max(1, round(services.limiter.retry_in(user_id)))
        await message.reply_text(
            f"You're asking faster than I can keep up with (at most {services.limiter.per_minute} "
            f"questions a minute). Please try again in {wait} seconds."
        )
    return False


async def _answer_with_typing(
    services: BotServices, chat: Chat, question: str, *, page: int, context: Context | None = None
) -> Answer:
    """The answer; "typing…" is sent only if it takes longer than ``TYPING_AFTER_SECONDS``.

    A timer rather than a second task waiting on the first: nearly every answer is fast, and the
    timer costs the loop the least when it is cancelled unused.
    """
    loop = asyncio.get_running_loop()
    timer = loop.call_later(TYPING_AFTER_SECONDS, _start_typing, chat)
    try:
        return await services.answers.answer(question, page=page, context=context)
    finally:
        timer.cancel()


_typing_tasks: set[asyncio.Task] = set()


def _start_typing(chat: Chat) -> None:
    task = asyncio.ensure_future(_send_typing(chat))
    _typing_tasks.add(task)  # a reference until it ends, so it is not collected half-way
    task.add_done_callback(_typing_tasks.discard)


async def _send_typing(chat: Chat) -> None:
    with suppress(TelegramError):
        await chat.send_action(ChatAction.TYPING)


def _shown(answer: Answer) -> str | None:
    if answer.answer:
        return answer.answer
    if answer.quotes:
        return answer.quotes[0].text[:500]
    return None


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command this bot does not have, in a private chat."""
    await update.effective_message.reply_text("I don't know that command. Send /help to see how to ask.")
