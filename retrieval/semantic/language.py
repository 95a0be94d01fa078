"""Whether a question is asked in another language than the corpus's English.

Two signals, either enough: most of its letters are outside the Latin script (Russian and
Ukrainian questions), or most of its words are unknown to the corpus's vocabulary (a Latin-script
language the corpus does not speak). A typo or two in an English question leaves most words known.
"""

from __future__ import annotations

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
