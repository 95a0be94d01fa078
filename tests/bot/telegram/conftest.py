"""Fixtures for the Telegram suite: a small corpus, its snapshot, the Bot API stand-in, and the
real Application (built by ``bot.telegram.app`` exactly as ``wikiqa serve`` builds it) polling it."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.answer import Answer
from bot.settings import Settings
from bot.telegram.app import build_application
from bot.telegram.serve import services_from_settings
from bot.telegram.services import BotServices
from retrieval.index.build import build_snapshot
from retrieval.storage.articles import ArticleStore
from retrieval.storage.records import ArticleRecord
from testing.bot_api_standin import BOT_USER, StandIn

TOKEN = "700000001:AAF-standin-secret-token-value"
ADMIN_ID = 9001

ARTICLES = {
    "CSTO": (
        "Collective Security Treaty Organization",
        "The Collective Security Treaty Organization (CSTO) is a military alliance of post-Soviet states.\n\n"
        "On May 15, 1992, Armenia, Kazakhstan, Kyrgyzstan, Russia, Tajikistan and Uzbekistan signed the "
        "Collective Security Treaty in Tashkent. The treaty came into force in 1994.\n\n"
        "The organization holds joint military exercises every year and runs a rapid reaction force.",
    ),
    "Kyiv": (
        "Kyiv",
        "Kyiv is the capital and most populous city of Ukraine. It stands on the Dnieper river.\n\n"
        "Kyiv was founded in the fifth century according to legend by three brothers. The Saint Sophia "
        "Cathedral in Kyiv was built in the eleventh century.",
    ),
    "Dnieper": (
        "Dnieper",
        "The Dnieper is one of the major rivers of Europe. It flows through Russia, Belarus and Ukraine "
        "to the Black Sea.\n\nThe river is 2,201 kilometres long; several hydroelectric dams stand on it.",
    ),
    "Lviv": (
        "Lviv",
        "Lviv is the largest city in western Ukraine. Its historic centre is a UNESCO World Heritage "
        "Site.\n\nLviv was founded in the thirteenth century by King Daniel of Galicia, who named it after "
        "his son Lev.",
    ),
    "Borscht": (
        "Borscht",
        "Borscht is a sour soup made with beetroot, cabbage and meat stock. It is a national dish of "
        "Ukraine.\n\nIn 2022 UNESCO added the culture of Ukrainian borscht cooking to its list of "
        "intangible heritage in need of urgent safeguarding.",
    ),
    "Markup": (
        'Tags & "Quotes" <in> titles',
        'The <b>bold</b> claim & the "quoted" words: 3 < 5 && 7 > 2, said the <script>alert(1)</script> '
        "engineer about escaping. Ampersands & angle brackets <like these> and 'single quotes' "
        "must survive HTML rendering unchanged, the escaping engineer explained.",
    ),
    "Tashkent": (
        "Tashkent",
        "Tashkent is the capital of Uzbekistan. The Collective Security Treaty was signed there in 1992."
        "\n\nThe city was largely rebuilt after an earthquake in 1966.",
    ),
    "SCO": (
        "Shanghai Cooperation Organisation",
        "The Shanghai Cooperation Organisation (SCO) is a Eurasian political, economic and security "
        "organisation. Its secretariat is in Beijing.\n\nOn June 15, 2001, in Shanghai, the leaders of "
        "China, Russia, Kazakhstan, Kyrgyzstan, Tajikistan and Uzbekistan proclaimed the creation of the "
        "Shanghai Cooperation Organisation. The founding declaration described the Shanghai spirit.",
    ),
    "Carpathians": (
        "Carpathian Mountains",
        "The Carpathian Mountains form an arc across Central and Eastern Europe. Hoverla, at 2,061 metres, "
        "is the highest peak of the Ukrainian Carpathians.",
    ),
}


def records(articles: dict[str, tuple[str, str]]) -> list[ArticleRecord]:
    return [
        ArticleRecord(article_id=key, title=title, article=body, img_url="", origin=f"test:{i}")
        for i, (key, (title, body)) in enumerate(articles.items(), start=1)
    ]


@pytest.fixture
def bot_settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    return Settings(
        home=home,
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        telegram_token=TOKEN,
        admin_ids=frozenset({ADMIN_ID}),
        rate_limit_per_minute=20,
    )


@pytest.fixture
def corpus(bot_settings: Settings) -> Settings:
    """The small corpus in the store and its snapshot built: the settings that point at both."""
    store = ArticleStore(bot_settings.database_url)
    store.upsert(records(ARTICLES), source="test corpus")
    build_snapshot(store, bot_settings.snapshots_dir, source_url=bot_settings.source_url)
    store.close()
    return bot_settings


@pytest.fixture
async def standin() -> AsyncIterator[StandIn]:
    server = await StandIn(TOKEN).start()
    yield server
    await server.stop()


@dataclass
class Harness:
    """The running bot and the stand-in it talks to, with helpers that wait on conditions."""

    standin: StandIn
    services: BotServices
    application: Any

    async def ask(
        self,
        user: dict[str, Any],
        text: str,
        *,
        chat: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> list[dict]:
        """Send ``text`` and return the bot's reply messages (the last one carries the keyboard)."""
        chat = chat or self.standin.private_chat(user)
        before = len(self.standin.sent_to(chat["id"]))
        self.standin.message(user, text, chat=chat, reply_to=reply_to)
        return await self.replies(chat["id"], before, keyboard=True)

    async def replies(
        self, chat_id: int, before: int, *, keyboard: bool = False, count: int = 1
    ) -> list[dict]:
        def done() -> bool:
            new = self.standin.sent_to(chat_id)[before:]
            if keyboard:
                return any("reply_markup" in c.result for c in new)
            return len(new) >= count

        await self.standin.wait_for(done, what=f"a reply in chat {chat_id}")
        return [c.result for c in self.standin.sent_to(chat_id)[before:]]

    async def command(self, user: dict[str, Any], text: str, *, chat: dict[str, Any] | None = None) -> dict:
        chat = chat or self.standin.private_chat(user)
        before = len(self.standin.sent_to(chat["id"]))
        self.standin.message(user, text, chat=chat)
        return (await self.replies(chat["id"], before))[0]


async def start_bot(standin: StandIn, services: BotServices, **options: Any) -> Harness:
    """Initialise, run post_init, start polling and the application: what run_polling does."""
    application = build_application(services, token=TOKEN, api_base_url=standin.base_url, **options)
    await application.initialize()
    await application.post_init(application)
    await application.updater.start_polling(poll_interval=0, timeout=timedelta(seconds=1))
    await application.start()
    return Harness(standin, services, application)


async def stop_bot(harness: Harness) -> None:
    application = harness.application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()
    await application.post_shutdown(application)


@pytest.fixture
async def make_bot(standin: StandIn, corpus: Settings) -> AsyncIterator[Callable[..., Any]]:
    """``await make_bot(**service_overrides)``: the production services, optionally altered."""
    started: list[Harness] = []

    async def make(settings: Settings | None = None, answer_workers: int = 0, **overrides: Any) -> Harness:
        """Answers on threads by default (a process pool per test costs seconds to start); the
        serve tests and the reindex test use the production pool."""
        services = services_from_settings(settings or corpus, TOKEN, answer_workers=answer_workers)
        for name, value in overrides.items():
            setattr(services, name, value)
        harness = await start_bot(standin, services)
        started.append(harness)
        return harness

    yield make
    for harness in started:
        await stop_bot(harness)


@pytest.fixture
async def bot(make_bot: Callable[..., Any]) -> Harness:
    return await make_bot()


def with_rate_limit(settings: Settings, per_minute: int) -> Settings:
    return replace(settings, rate_limit_per_minute=per_minute)


def keyboard_data(message: dict) -> dict[str, str]:
    """Button label → callback data of a sent message's inline keyboard."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {button["text"]: button["callback_data"] for row in rows for button in row}


__all__ = ["ADMIN_ID", "BOT_USER", "TOKEN", "Harness", "keyboard_data", "records", "with_rate_limit"]


class GatedAnswerer:
    """Answers like ``real`` once the test opens the gate: an answer exactly as slow as the test
    needs, with no clock involved."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.gate = threading.Event()
        self.waiting = False  # whether a question is held at the gate

    def answer(self, question: str, *, page: int = 1, k: int | None = None, context=None) -> Answer:
        self.waiting = True
        assert self.gate.wait(30), "the test never opened the gate"
        return self.real.answer(question, page=page, k=k)
