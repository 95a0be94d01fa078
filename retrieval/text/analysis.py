"""The one analyzer that turns passages and questions into index terms.

Documents and questions must be tokenized identically, so the analyzer's settings are saved with
each snapshot (:meth:`Analyzer.to_dict`) and the searcher rebuilds it from there
(:meth:`Analyzer.from_dict`) rather than from whatever the code's defaults are today.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import Stemmer

# Unicode word characters, optionally joined by an inner apostrophe ("don't" is one token, so
# its stem is not confused with the stop word "t"); a trailing "'s" is split off below. The index
# build finds the same matches with numpy (``retrieval.text.wordscan.find_words``).
APOSTROPHES = "'’"
WORD_PATTERN = rf"\w+(?:[{APOSTROPHES}]\w+)*"
_WORD = re.compile(WORD_PATTERN)

# A general English stop-word list: function words only. Question words ("what", "who", "when")
# are in it because every question has one and they carry no topic; negations ("not", "no") are
# kept out because "not" can matter in a claim.
_STOP_WORD_TEXT = """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself nor of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves s t d ll m re ve
"""
ENGLISH_STOP_WORDS: tuple[str, ...] = tuple(sorted(set(_STOP_WORD_TEXT.split())))


PRODUCTION_SETTINGS: dict[str, Any] = {
    "language": "english",
    "stop_words": ENGLISH_STOP_WORDS,
    "min_token_chars": 1,
    "title_weight": 1,
}


class Analyzer:
    """Unicode word tokens, case folding, stop words and Snowball stemming.

    ``Analyzer()`` gives the production settings. ``title_weight`` is how many times a passage's
    title terms join its BM25 bag (0 leaves titles out of matching).
    """

    def __init__(
        self,
        *,
        language: str = PRODUCTION_SETTINGS["language"],
        stop_words: tuple[str, ...] | list[str] = PRODUCTION_SETTINGS["stop_words"],
        min_token_chars: int = PRODUCTION_SETTINGS["min_token_chars"],
        title_weight: int = PRODUCTION_SETTINGS["title_weight"],
    ) -> None:
        self.language = language
        self.stop_words = frozenset(w.casefold() for w in stop_words)
        self.min_token_chars = int(min_token_chars)
        self.title_weight = int(title_weight)
        self._stemmer = Stemmer.Stemmer(language)
        self._stem = lru_cache(maxsize=200_000)(self._stemmer.stemWord)

    def _tokens(self, text: str) -> list[tuple[str, int, int]]:
        """Case-folded surface words with their spans, stop words and too-short words dropped."""
        out: list[tuple[str, int, int]] = []
        for match in _WORD.finditer(text):
            token = self._token(match)
            if token is not None:
                out.append(token)
        return out

    def _token(self, match: re.Match[str]) -> tuple[str, int, int] | None:
        word = match.group().casefold()
        end = match.end()
        if word.endswith(("'s", "’s")):
            word = word[:-2]
            end -= 2
        if "’" in word:
            word = word.replace("’", "'")
        if len(word) < self.min_token_chars or word in self.stop_words:
            return None
        return word, match.start(), end

    def terms(self, text: str) -> list[str]:
        """The stems of ``text`` in order, stop words dropped."""
        stem = self._stem
        return [stem(word) for word, _, _ in self._tokens(text)]

    def terms_with_spans(self, text: str) -> list[tuple[str, int, int]]:
        """``(stem, start, end)`` for each kept word; spans are character offsets into ``text``."""
        stem = self._stem
        return [(stem(word), start, end) for word, start, end in self._tokens(text)]

    def words_with_terms(self, text: str) -> list[tuple[str, str, int, int]]:
        """``(surface word, stem, start, end)`` for each kept word: both views in one pass."""
        stem = self._stem
        return [(word, stem(word), start, end) for word, start, end in self._tokens(text)]

    def match_spans(self, text: str, stems: frozenset[str]) -> list[tuple[int, int]]:
        """Character spans of the words of ``text`` whose stem is in ``stems`` (for highlighting).

        The same as filtering :meth:`terms_with_spans`, but only words sharing a stem's first
        three letters are stemmed, which makes it several times faster on a passage. (Snowball's
        English stems keep a word's first three letters except for a few irregular forms such as
        "dying" -> "die", which are then not highlighted.)
        """
        if not stems:
            return []
        prefixes = {stem[:3] for stem in stems}
        stem = self._stem
        spans: list[tuple[int, int]] = []
        for match in _WORD.finditer(text):
            if match.group()[:3].casefold() not in prefixes:
                continue
            token = self._token(match)
            if token is not None and stem(token[0]) in stems:
                spans.append((token[1], token[2]))
        return spans

    def index_terms(self, title: str, text: str) -> list[str]:
        """A passage's BM25 bag: its own terms, then its title's terms ``title_weight`` times.

        The title takes part in matching because passages rarely repeat their article's subject
        ("It was founded in 1992" belongs to the article about the thing founded).
        """
        body = self.terms(text)
        if self.title_weight <= 0 or not title:
            return body
        return body + self.terms(title) * self.title_weight

    def surface_words(self, text: str) -> list[str]:
        """Case-folded words before stemming (for spelling suggestions and vocabulary lists)."""
        return [word for word, _, _ in self._tokens(text)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "stop_words": sorted(self.stop_words),
            "min_token_chars": self.min_token_chars,
            "title_weight": self.title_weight,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Analyzer:
        return cls(
            language=d.get("language", "english"),
            stop_words=tuple(d.get("stop_words", ())),
            min_token_chars=int(d.get("min_token_chars", 1)),
            title_weight=int(d.get("title_weight", 1)),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Analyzer) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.language, self.stop_words, self.min_token_chars, self.title_weight))

    def __repr__(self) -> str:
        return (
            f"Analyzer(language={self.language!r}, stop_words={len(self.stop_words)}, "
            f"min_token_chars={self.min_token_chars}, title_weight={self.title_weight})"
        )
