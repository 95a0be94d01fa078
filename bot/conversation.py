"""What a conversation remembers between questions, so that a follow-up keeps its subject.

"What is the Shanghai Cooperation Organisation?" then "When was it founded?": the second question
alone finds another article's founding date. A :class:`Context` holds what the next question may
lean on: the question last answered (as it was searched) and the articles its answer quoted.
:class:`~bot.answer.Answerer` decides from it whether a question needs it (a pronoun, an elliptic
"and in 1995?", or too little of the question found on its own) and says in its answer when it
used it; a question that stands on its own is answered exactly as without a conversation.

Every front end that is a conversation keeps one context per conversation in a
:class:`ContextStore` (a Telegram private chat, a group's reply thread to the bot, a ``wikiqa
chat`` session), or uses :class:`Conversation`, which wraps an ``Answerer`` for the Python API.
A context is small, kept in memory only, and expires: :data:`EXPIRE_SECONDS` after its question
the next one is asked afresh.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.answer import Answer, Answerer

# A follow-up more than this long after the question it follows starts a new conversation: by
# then the user has moved on, and the question text is not kept in memory any longer than that.
EXPIRE_SECONDS = 30 * 60
# Conversations remembered at once (least recently used dropped first): a context is a question
# and a few titles, so even a busy bot's contexts stay within a few megabytes.
MAX_CONVERSATIONS = 20_000
# Articles of an answer remembered as the subject of the next question (the first quotes'
# articles, distinct, best first).
REMEMBERED_ARTICLES = 3

# Words that point back at something said before. English: INSCIT's follow-up rule's list
# (../shared/eval/inscit/README.md) less "that" (mostly a conjunction: "Is it true that ...").
_ENGLISH_REFERENCES = """he her hers herself him himself his it its itself she their theirs them themselves
    these they this those"""
_RUSSIAN_REFERENCES = """он она оно они его её ее ему ей им их него неё нее нему ней ним них нём нем
    этот эта это эти этого этой этом этим этих этому тот та те того той тем тех там тогда"""
_UKRAINIAN_REFERENCES = """він вона воно вони його її йому їй їм їх нього неї ньому ній нею ними них
    цей ця це ці цього цієї цьому цим цих цією той та ті того тієї тим тих там тоді"""
ENGLISH_REFERENCE_WORDS = frozenset(_ENGLISH_REFERENCES.split())
REFERENCE_WORDS = frozenset((_ENGLISH_REFERENCES + _RUSSIAN_REFERENCES + _UKRAINIAN_REFERENCES).split())
# How an elliptic follow-up opens: "and in 1995?", "what about Belarus?", "а в 1995?", "а як щодо ...".
_ELLIPTIC_START = re.compile(
    r"^(?:and|also|what about|how about|and what about|а|и|і|й|а как же|а как насчёт|а как насчет|"
    r"а що|а як щодо|як щодо|что насчёт|что насчет)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Context:
    """What the next question of a conversation may lean on.

    ``question`` is the last question answered, as it was searched (with the subject it was
    resolved with, if any); ``articles`` are ``(article_id, title)`` of the articles its answer
    quoted, best first; ``at`` is when it was asked (``time.time()``).
    """

    question: str
    articles: tuple[tuple[str, str], ...]
    at: float

    @property
    def subject(self) -> str | None:
        """The title of the article the last answer quoted first: what "it" most likely means."""
        return self.articles[0][1] if self.articles else None

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) - self.at > EXPIRE_SECONDS

    @classmethod
    def after(
        cls, answer: Answer, previous: Context | None = None, *, now: float | None = None
    ) -> Context | None:
        """The context a conversation holds after showing ``answer``.

        A refused question leaves the previous context in place (the user will rephrase it); an
        answered one replaces it, so a new topic drops the old one.
        """
        if answer.no_match or not answer.quotes:
            return previous
        articles: list[tuple[str, str]] = []
        for quote in answer.quotes:
            if all(quote.article_id != seen for seen, _ in articles):
                articles.append((quote.article_id, quote.title))
            if len(articles) == REMEMBERED_ARTICLES:
                break
        return cls(answer.searched or answer.question, tuple(articles), time.time() if now is None else now)


def is_elliptic(question: str) -> bool:
    """Whether ``question`` opens as the continuation of another ("and in 1995?", "а в 1995?")."""
    return _ELLIPTIC_START.match(question.strip()) is not None


def refers_back(question: str) -> bool:
    """Whether ``question`` points at something said before: a pronoun or demonstrative ("when was
    it founded?", "коли його заснували?") or an elliptic opening ("and in 1995?")."""
    if is_elliptic(question):
        return True
    return any(word in REFERENCE_WORDS for word in _WORD.findall(question.casefold()))


class ContextStore:
    """The live context of each conversation, by a key the front end chooses; thread-safe.

    Contexts expire :data:`EXPIRE_SECONDS` after their question and the least recently used are
    dropped beyond ``max_size``, so neither time nor a crowd of users makes it grow.
    """

    def __init__(self, *, max_size: int = MAX_CONVERSATIONS) -> None:
        self._contexts: OrderedDict[Hashable, Context] = OrderedDict()
        self._max_size = max_size
        self._lock = threading.Lock()

    def get(self, key: Hashable, *, now: float | None = None) -> Context | None:
        with self._lock:
            context = self._contexts.get(key)
            if context is None:
                return None
            if context.expired(now):
                del self._contexts[key]
                return None
            self._contexts.move_to_end(key)
            return context

    def put(self, key: Hashable, context: Context | None) -> None:
        with self._lock:
            if context is None:
                self._contexts.pop(key, None)
                return
            self._contexts[key] = context
            self._contexts.move_to_end(key)
            while len(self._contexts) > self._max_size:
                self._contexts.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        """Start ``key``'s conversation afresh (``/new``, ``new``)."""
        self.put(key, None)

    def __len__(self) -> int:
        return len(self._contexts)


class Conversation:
    """A conversation with an :class:`~bot.answer.Answerer`: each question may follow up the last.

    ``ask`` answers a question in the light of the conversation so far, ``more`` shows the next
    page of the last answer, and ``new`` forgets the subject::

        chat = wikiqa.Conversation(wikiqa.Answerer(snapshot))
        chat.ask("What is the Shanghai Cooperation Organisation?")
        chat.ask("When was it founded?").about   # 'Shanghai Cooperation Organisation'
    """

    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer
        self.context: Context | None = None
        self._last: tuple[str, Context | None, int | None, Answer] | None = None

    def ask(self, question: str, *, k: int | None = None) -> Answer:
        context = self.context if self.context is not None and not self.context.expired() else None
        answer = self.answerer.answer(question, k=k, context=context)
        self._last = (question, context, k, answer)
        self.context = Context.after(answer, context)
        return answer

    def more(self) -> Answer | None:
        """The next page of the last answer; None when there is none."""
        if self._last is None or not self._last[3].has_more:
            return None
        question, context, k, shown = self._last
        answer = self.answerer.answer(question, page=shown.page + 1, k=k, context=context)
        self._last = (question, context, k, answer)
        return answer

    def new(self) -> None:
        """Forget the conversation so far: the next question is asked afresh."""
        self.context = None
        self._last = None
