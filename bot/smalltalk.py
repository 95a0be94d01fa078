"""Greetings, thanks, "who are you" and "help": answered with a short reply, never with quotes.

Searched for, "hi" finds an article that happens to quote ``<script>alert("hi")</script>``. Only
a message that is *wholly* one of these phrases (give or take punctuation, emoji, "bot" and a
few polite words) is small talk, so a real question is never taken for one: a test reads every
question of the shared evaluation sets and finds none. English, Ukrainian and Russian are told
apart by the phrase, and the reply is in the same language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    GREETING = "greeting"
    THANKS = "thanks"
    WHO = "who"
    HELP = "help"
    BYE = "bye"


_PHRASES: dict[tuple[Kind, str], str] = {
    (
        Kind.GREETING,
        "en",
    ): """hi | hello | hey | hiya | howdy | yo | greetings | good morning | good afternoon |
        good evening | good day | hi there | hello there | hey there | how are you | how are you doing |
        how is it going | hows it going | whats up | sup | start""",
    (
        Kind.GREETING,
        "uk",
    ): """привіт | привітик | вітаю | добрий день | доброго дня | добрий ранок | доброго ранку |
        добрий вечір | доброго вечора | здоровенькі були | здрастуйте | як справи | як ти | агов | хай""",
    (Kind.GREETING, "ru"): """привет | приветик | здравствуй | здравствуйте | добрый день | доброе утро |
        добрый вечер | доброго дня | здорово | салют | хай | как дела | как ты | как поживаешь""",
    (
        Kind.THANKS,
        "en",
    ): """thanks | thank you | thank you so much | thanks a lot | many thanks | thx | ty | cheers |
        great | great thanks | ok thanks | okay thanks | nice | cool | awesome | perfect | ok | okay""",
    (
        Kind.THANKS,
        "uk",
    ): """дякую | дуже дякую | щиро дякую | спасибі | дякс | дяка | чудово | супер | клас | добре""",
    (Kind.THANKS, "ru"): """спасибо | большое спасибо | спасибо большое | благодарю | спс | отлично | супер |
        класс | хорошо""",
    (Kind.WHO, "en"): """who are you | what are you | what is this | what is this bot | what do you do |
        what can you do | what do you know | are you a bot | are you human | who made you | about""",
    (Kind.WHO, "uk"): """хто ти | хто ви | що ти таке | що ти вмієш | що ти можеш | що ти знаєш | ти бот |
        що це за бот""",
    (Kind.WHO, "ru"): """кто ты | кто вы | что ты такое | что ты умеешь | что ты можешь | что ты знаешь |
        ты бот | что это за бот""",
    (
        Kind.HELP,
        "en",
    ): """help | help me | how does this work | how do i use this | how to use | how do i ask |
        what should i ask | what can i ask | instructions""",
    (Kind.HELP, "uk"): """допомога | допоможи | допоможіть | довідка | як це працює | як користуватися |
        що спитати | що можна спитати""",
    (Kind.HELP, "ru"): """помощь | помоги | помогите | справка | как это работает | как пользоваться |
        что спросить | что можно спросить""",
    (Kind.BYE, "en"): "bye | goodbye | bye bye | see you | see ya | good night",
    (Kind.BYE, "uk"): "бувай | до побачення | на все добре | добраніч | на добраніч",
    (Kind.BYE, "ru"): "пока | до свидания | всего доброго | спокойной ночи",
}
# Words a greeting may carry around it: "hi bot", "hello there friend", "привет бот", "ну дякую".
_FILLER_TEXT = """bot wikiqa there friend please again so very much you man all guys ну бот друже друг
    будь ласка пожалуйста еще ещё ще тобі тебе тебя вам"""
_FILLER = frozenset(_FILLER_TEXT.split())
_PHRASE_TABLE: dict[tuple[str, ...], tuple[Kind, str]] = {
    tuple(phrase.split()): key
    for key, phrases in _PHRASES.items()
    for phrase in (p.strip() for p in phrases.split("|"))
    if phrase
}
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
# Longer than this, a message is not small talk whatever it says ("hi, when was the CSTO ...").
MAX_WORDS = 6


@dataclass(frozen=True, slots=True)
class SmallTalk:
    kind: Kind
    language: str  # "en", "uk" or "ru"


def recognise(text: str) -> SmallTalk | None:
    """What ``text`` is, when it is only a greeting, thanks, "who are you", "help" or goodbye."""
    words = [w.replace("'", "").replace("’", "") for w in _WORD.findall(text.casefold())]
    if not words or len(words) > MAX_WORDS:
        return None
    found = _PHRASE_TABLE.get(tuple(words))
    if found is None:
        kept = tuple(w for w in words if w not in _FILLER)
        found = _PHRASE_TABLE.get(kept) if kept else None
    if found is None:
        return None
    return SmallTalk(*found)


_WHAT_I_DO = {
    "en": "I answer questions by quoting the articles I know, with a link to each source.",
    "uk": "Я відповідаю на запитання цитатами зі статей, які знаю, з посиланням на джерело.",
    "ru": "Я отвечаю на вопросы цитатами из статей, которые знаю, со ссылкой на источник.",
}
_OPENING = {
    Kind.GREETING: {"en": "Hello!", "uk": "Вітаю!", "ru": "Здравствуйте!"},
    Kind.THANKS: {"en": "You're welcome!", "uk": "Радий допомогти!", "ru": "Пожалуйста!"},
    Kind.WHO: {"en": "I'm wikiqa.", "uk": "Я wikiqa.", "ru": "Я wikiqa."},
    Kind.HELP: {
        "en": "Just ask in plain words.",
        "uk": "Просто запитайте звичайними словами.",
        "ru": "Просто спросите обычными словами.",
    },
    Kind.BYE: {"en": "Goodbye!", "uk": "До побачення!", "ru": "До свидания!"},
}
_TRY = {
    "en": "For example:",
    "uk": "Наприклад (статті англійською):",
    "ru": "Например (статьи на английском):",
}
EXAMPLES_SHOWN = 2


def reply(talk: SmallTalk, examples: tuple[str, ...] = ()) -> tuple[str, tuple[str, ...]]:
    """``(text, example questions)``: a one-line reply in ``talk``'s language saying what the bot
    does, and up to two example questions for a front end to show as it shows text."""
    language = talk.language
    text = f"{_OPENING[talk.kind][language]} {_WHAT_I_DO[language]}"
    shown = tuple(examples[:EXAMPLES_SHOWN])
    if shown and talk.kind is not Kind.BYE:
        text += f" {_TRY[language]}"
    else:
        shown = ()
    return text, shown


def reply_text(talk: SmallTalk, examples: tuple[str, ...] = ()) -> str:
    """The reply as plain text, each example on a line of its own."""
    text, shown = reply(talk, examples)
    return "\n".join([text, *(f"  {example}" for example in shown)])
