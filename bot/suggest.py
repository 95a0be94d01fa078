""" "Did you mean": corrections for misspelled question words, taken from the index's own words.

Only words the corpus actually contains are ever suggested, so a suggestion always finds
something. Lookup uses a symmetric-delete index (every known word filed under itself and each
one-letter deletion of it): a misspelling within two edits shares a key with its correction
after at most two deletions on its side and one on the word's, and candidates are then checked
with a true edit distance. That costs one dictionary build per snapshot and microseconds a
lookup, where scanning a million-word vocabulary for each misspelling would take a second.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

MAX_DISTANCE = 2
MIN_WORD_CHARS = 4
MAX_SUGGESTIONS = 3
# Only the most frequent words are indexed: the delete index costs about 1.3 KB a word (62 MB
# for 50k words), and a corpus's rarest words are mostly its own typos and one-off names.
MAX_WORDS = 50_000


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def edit_distance(a: str, b: str, limit: int = MAX_DISTANCE) -> int:
    """Optimal-string-alignment distance (adjacent transpositions count 1), capped at ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


class Speller:
    """Corrections drawn from ``words`` (surface word → count in the corpus).

    Words shorter than :data:`MIN_WORD_CHARS` are neither corrected nor suggested: with so few
    letters, two edits reach almost anything.
    """

    def __init__(self, words: Mapping[str, int] | Iterable[tuple[str, int]]) -> None:
        pairs = words.items() if isinstance(words, Mapping) else words
        counts: dict[str, int] = {}
        for word, count in pairs:
            word = word.casefold()
            if len(word) >= MIN_WORD_CHARS and word.isalpha():
                counts[word] = counts.get(word, 0) + int(count)
        frequent = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_WORDS]
        self._counts: dict[str, int] = dict(frequent)
        self._by_key: dict[str, list[str]] = defaultdict(list)
        for word in self._counts:
            self._by_key[word].append(word)
            for key in _deletes(word):
                self._by_key[key].append(word)

    def __contains__(self, word: str) -> bool:
        return word.casefold() in self._counts

    def corrections(self, word: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
        """The known words nearest ``word`` (within two edits), most frequent first.

        Only the nearest distance is offered: a one-edit correction makes two-edit ones noise.
        """
        word = word.casefold()
        if len(word) < MIN_WORD_CHARS or word in self._counts:
            return []
        keys = {word} | _deletes(word)
        keys |= {d for key in list(keys) if len(key) > 1 for d in _deletes(key)}
        seen: set[str] = set()
        ranked: list[tuple[int, int, str]] = []
        for key in keys:
            for known in self._by_key.get(key, ()):
                if known in seen:
                    continue
                seen.add(known)
                distance = edit_distance(word, known)
                if distance <= MAX_DISTANCE:
                    ranked.append((distance, -self._counts[known], known))
        ranked.sort()
        nearest = [known for distance, _, known in ranked if distance == ranked[0][0]]
        return nearest[:limit]
