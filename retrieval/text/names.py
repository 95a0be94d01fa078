"""The names and numbers a Russian or Ukrainian question carries into the English corpus.

Such a question shares almost no words with the corpus, but its numbers are the corpus's digits
and its names are transliterations of the corpus's: Ньютон is Newton, Гастінгс Hastings, Джерсі
Jersey. Spelling differs (declension, Г for H, Ukrainian і for English e), so words are compared
by a coarse sound key: letters to Latin (В as W, which English writes for it as often as V), then
each consonant to its Soundex class (b f p v; c g j k q s x z; d t; l; m n; r), vowels, h and w
dropped, a leading H or G dropped (Г writes both), repeats merged. Two names match when their keys
agree on the first three classes, or on the first four but for one edit. A name is a capitalised
word that does not start the question; all-capital abbreviations (США, ООН) are translated, not
transliterated, and are left out.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_CYRILLIC = str.maketrans(
    {
        "а": "a", "б": "b", "в": "w", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "e", "ё": "o",
        "ж": "z", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m",
        "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh",
        "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "i", "ь": "", "э": "e",
        "ю": "u", "я": "a",
    }
)  # fmt: skip
_CLASSES = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}
_SILENT = frozenset("hw")  # neither a class nor a break between two of one class
_LETTERS = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"\d{2,}")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_CAPITALISED = re.compile(r"\b[A-Z][^\W\d_]*")
_PREFIX = 3  # classes two keys must share exactly,
_FUZZY_PREFIX = 4  # or these, but for one edit
_MIN_KEY = 2  # shorter keys (Ян, Ли) match too much to say anything


@functools.lru_cache(maxsize=65536)
def sound_key(word: str) -> str:
    """``word``'s consonant classes: ``sound_key("Ньютона") == sound_key("Newton")[:3]``."""
    latin = word.lower().replace("дж", "j").translate(_CYRILLIC)
    if latin[:1] in ("h", "g"):
        latin = latin[1:]
    classes: list[str] = []
    previous = ""
    for letter in latin:
        kind = _CLASSES.get(letter, "")
        if kind and kind != previous:
            classes.append(kind)
        if letter not in _SILENT:
            previous = kind
    return "".join(classes)


@dataclass(frozen=True, slots=True)
class Names:
    """What of a question an English text should hold if it answers it."""

    numbers: frozenset[str]  # runs of two digits or more
    latin: frozenset[str]  # words already in Latin letters, lower-cased
    keys: tuple[str, ...]  # sound keys of the names in Cyrillic

    def __len__(self) -> int:
        return len(self.numbers) + len(self.latin) + len(self.keys)

    def held_by(self, text: str) -> int:
        """How many of them ``text`` holds."""
        held = 0
        if self.numbers:
            held += len(self.numbers & set(_NUMBER.findall(text)))
        if self.latin:
            held += len(self.latin & {word.lower() for word in _LETTERS.findall(text)})
        if self.keys:
            keys = {sound_key(word) for word in set(_CAPITALISED.findall(text))}
            held += sum(
                any(_same_name(key, other) for other in keys if len(other) >= _MIN_KEY) for key in self.keys
            )
        return held


@functools.lru_cache(maxsize=1024)
def question_names(question: str) -> Names:
    """The numbers, Latin words and Cyrillic names of ``question`` (remembered: a search reads
    them to rank and again to judge its top quote)."""
    keys: list[str] = []
    latin: set[str] = set()
    for position, word in enumerate(_LETTERS.findall(question)):
        if _LATIN_WORD.fullmatch(word):
            latin.add(word.lower())
        elif position and word[0].isupper() and not word.isupper():
            key = sound_key(word)
            if len(key) >= _MIN_KEY and key not in keys:
                keys.append(key)
    return Names(frozenset(_NUMBER.findall(question)), frozenset(latin), tuple(keys))


def _same_name(key: str, other: str) -> bool:
    """Whether two sound keys are one name's: the same first three classes, or of the first four
    one class changed (of four: of three, Newton's 535 would be Nixon's 525) or left out (Виктория
    writes no V: 236 against Victoria's 1236)."""
    if key[:_PREFIX] == other[:_PREFIX]:
        return True
    short, long = sorted((key[:_FUZZY_PREFIX], other[:_FUZZY_PREFIX]), key=len)
    if len(long) == len(short) + 1 >= _FUZZY_PREFIX:
        return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
    return len(short) == _FUZZY_PREFIX and sum(a != b for a, b in zip(short, long, strict=True)) == 1
