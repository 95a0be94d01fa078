"""Which language a question is asked in: whether it is another than the corpus's English, and
for Cyrillic questions whether they are Ukrainian or Russian (reported apart by ``wikiqa eval``
and the journal's report, since most readers of a Ukrainian Wikipedia ask in Ukrainian).

A question is foreign on either of two signals: most of its letters are outside the Latin script
(Russian and Ukrainian questions), or most of its words are unknown to the corpus's vocabulary (a
Latin-script language the corpus does not speak). A typo or two in an English question leaves
most words known.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Letters up to U+024F are Latin (Basic Latin, Latin-1, Latin Extended-A and -B).
_LAST_LATIN = "\u024f"
FOREIGN_SCRIPT_SHARE = 0.5
UNKNOWN_WORD_SHARE = 0.5
MIN_WORDS_FOR_VOCABULARY_TEST = 3


def is_foreign(question: str, terms: list[str], known: Callable[[str], bool]) -> bool:
    """``terms`` are the question's analyzed terms; ``known`` says whether the corpus has a term."""
    letters = [c for c in question if c.isalpha()]
    if not letters:
        return False
    foreign_letters = sum(1 for c in letters if c > _LAST_LATIN)
    if foreign_letters / len(letters) > FOREIGN_SCRIPT_SHARE:
        return True
    if len(terms) < MIN_WORDS_FOR_VOCABULARY_TEST:
        return False
    unknown = sum(1 for term in terms if not known(term))
    return unknown / len(terms) > UNKNOWN_WORD_SHARE


ENGLISH, UKRAINIAN, RUSSIAN, CYRILLIC = "en", "uk", "ru", "cyrillic"
# Letters only one of the two languages writes, and short words each uses where the other has
# its own (що/что, як/как, який/какой, коли/когда ...): between them, a question of a few words
# is told apart whatever it asks.
_UKRAINIAN_LETTERS = frozenset("іїєґ")
_RUSSIAN_LETTERS = frozenset("ыэъё")
_UKRAINIAN_WORDS = frozenset(
    {
        "що", "як", "який", "яка", "яке", "які", "якого", "якому", "якою", "яку", "якої", "яким",
        "якими", "коли", "хто", "ким", "чим", "чому", "куди", "звідки", "де", "чи", "та", "це", "від",
        "між", "після", "році", "року", "був", "була", "було", "були", "скільки", "котрий", "ці", "цей",
        "його", "її", "їх", "також", "є", "з", "із", "зі"
    }
)  # fmt: skip
_RUSSIAN_WORDS = frozenset(
    {
        "что", "как", "какой", "какая", "какое", "какие", "каком", "какую", "каким", "какими", "какова",
        "каково", "каковы", "когда", "кто", "кем", "чем", "чему", "куда", "откуда", "где", "ли", "это",
        "от", "между", "после", "году", "года", "был", "была", "было", "были", "сколько", "насколько",
        "почему", "который", "эти", "этот", "его", "её", "их", "также", "к", "с", "со"
    }
)  # fmt: skip
_WORD = re.compile(r"[^\W\d_]+")
_LETTERS_TO_TELL = 12


def language(question: str) -> str:
    """``"uk"`` or ``"ru"`` for a Cyrillic question, ``"en"`` for a Latin-script one.

    Told by the letters and short words only one of the two languages writes; where neither
    shows, a question of a dozen letters or more is Russian (Ukrainian writes і, ї or є in nearly
    every sentence), a shorter one ``"cyrillic"``.
    """
    lowered = question.casefold()
    letters = [c for c in lowered if c.isalpha()]
    cyrillic = sum(1 for c in letters if "\u0400" <= c <= "\u04ff")
    if not letters or cyrillic * 2 <= len(letters):
        return ENGLISH
    words = _WORD.findall(lowered)
    ukrainian = sum(c in _UKRAINIAN_LETTERS for c in letters) + sum(w in _UKRAINIAN_WORDS for w in words)
    russian = sum(c in _RUSSIAN_LETTERS for c in letters) + sum(w in _RUSSIAN_WORDS for w in words)
    if ukrainian != russian:
        return UKRAINIAN if ukrainian > russian else RUSSIAN
    return RUSSIAN if cyrillic >= _LETTERS_TO_TELL else CYRILLIC
