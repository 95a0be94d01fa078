"""Example questions about the corpus, as a person would ask them.

"Tell me about Organization of a collective security agreement" reads like a template; the
article's first sentence names its subject as readers know it ("The Collective Security Treaty
Organization (CSTO) is a military-political ..."), so the example asks "What is the Collective
Security Treaty Organization?". /start, /help, small talk and "no good match" offer these.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retrieval.index.reader import Snapshot

# "<subject> is/was/are/were ...": the subject is at most this many words to be usable.
MAX_SUBJECT_WORDS = 10
# Articles looked at per example wanted: some have no usable first sentence.
TRIES_PER_EXAMPLE = 4
# Titles longer than this make clumsy examples.
MAX_TITLE_CHARS = 60
# A step through the passages that is prime to any corpus size seen, so examples spread over it.
_STRIDE = 7919

_COPULA = re.compile(r"^(?P<subject>.+?)\s+(?P<verb>is|was|are|were)\s", re.DOTALL)
_PARENTHESES = re.compile(r"\s*\([^()]*\)")
_APPOSITION = re.compile(r",[^,]*,?$|,.*?,")
_LIFE_DATES = re.compile(r"\((?:born\b|[^()]*\b\d{3,4}\s*[-–—]\s*[^()]*\d{3,4})")
_WORDS = re.compile(r"\w+")


def natural_question(title: str, first_sentence: str) -> str:
    """A question a person would ask about the article ``title`` that opens with ``first_sentence``:
    "What is the Shanghai Cooperation Organisation?", "Who was Taras Shevchenko?"."""
    name = _PARENTHESES.sub("", title).strip() or title.strip()
    found = _COPULA.match(first_sentence.strip())
    if found is None:
        return f"What is {name}?"
    verb = found["verb"]
    subject = _APPOSITION.sub("", _PARENTHESES.sub("", found["subject"])).strip(" ,;:")
    words = _WORDS.findall(subject)
    if not words or len(words) > MAX_SUBJECT_WORDS:
        subject = name
    else:
        title_words = {w.casefold() for w in _WORDS.findall(name)}
        own = words[1:] if words[0] == "The" else words
        shorter = len(title_words) < len(own) and title_words <= {w.casefold() for w in own}
        if words[0] == "The":
            subject = "the " + (name[4:] if name.startswith("The ") else name if shorter else subject[4:])
        elif shorter:  # "Taras Hryhorovych Shevchenko" is asked about as "Taras Shevchenko"
            subject = name
    person = _LIFE_DATES.search(first_sentence) is not None or ", born " in first_sentence
    return f"{'Who' if person else 'What'} {verb} {subject}?"


def question_about(snapshot: Snapshot, pid: int) -> str | None:
    """A natural question about the article of passage ``pid``, from the article's opening."""
    passages = snapshot.passages
    pid = passages.article_opening(pid)
    title = (passages.title(pid) or "").strip()
    if not title or len(title) > MAX_TITLE_CHARS:
        return None
    text = passages.text(pid)
    spans = passages.sentence_spans(pid)
    first = text[spans[0][0] : spans[0][1]] if len(spans) else text
    return natural_question(title, first)


def example_questions(snapshot: Snapshot, count: int) -> tuple[str, ...]:
    """Up to ``count`` questions about articles spread over ``snapshot``, from their opening."""
    passages = snapshot.passages
    total = len(snapshot)
    out: list[str] = []
    seen: set[int] = set()
    for i in range(count * TRIES_PER_EXAMPLE):
        if total == 0 or len(out) == count:
            break
        pid = (i * _STRIDE) % total
        article = passages.article_index(pid)
        if article in seen:
            continue
        seen.add(article)
        question = question_about(snapshot, pid)
        if question is not None and question not in out:
            out.append(question)
    return tuple(out)
