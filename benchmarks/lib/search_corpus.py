"""The seeded synthetic corpus and questions of ``benchmarks/search.py`` (also served by
``benchmarks/answer.py`` and ``benchmarks/bot.py``).

Articles of five ~120-word paragraphs, words drawn from a Zipf-distributed vocabulary with
English stop words at the top ranks; questions of two to six of those words, in English or
spelled in Cyrillic letters, as foreign to the corpus as a Russian question is, the first of them
capitalised as the name a Russian question asks about would be (so that a search looks for it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

PASSAGE_WORDS = 120
PARAGRAPHS_PER_ARTICLE = 5
VOCABULARY = 200_000
ZIPF_EXPONENT = 1.05
SEED = 2024
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1M": 1_000_000}  # 1k: a smoke run (the tests)
# Latin letters spelled in Cyrillic, so a synthetic question reads as a Russian one would.
_LATIN_TO_CYRILLIC = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz",
        ("а", "б", "ц", "д", "е", "ф", "г", "х", "и", "й", "к", "л", "м", "н", "о", "п", "к", "р", "с", "т",
         "у", "в", "в", "кс", "ы", "з"),
        strict=True,
    )
)  # fmt: skip
_CYRILLIC = str.maketrans(
    {**_LATIN_TO_CYRILLIC, **{a.upper(): b.capitalize() for a, b in _LATIN_TO_CYRILLIC.items()}}
)


def _vocabulary(rng: np.random.Generator) -> list[str]:
    """Stop words first (the most frequent ranks, as in English), then made-up words of one to
    three consonant-vowel syllables, half with a closing consonant, drawn in whole arrays (drawn
    a word at a time, the 200,000 took 15 s of every run, a tiny one included)."""
    # wikiqa's own stop words: the corpus's most common words are those its analyzer drops.
    from retrieval.text.analysis import ENGLISH_STOP_WORDS

    stop = [w for w in ENGLISH_STOP_WORDS if len(w) > 1][:100]
    consonants, vowels = np.array(list("bcdfghklmnprstvz")), np.array(list("aeiou"))
    words, seen = list(stop), set(stop)
    while len(words) < VOCABULARY:
        n = 2 * (VOCABULARY - len(words))
        syllables = np.char.add(rng.choice(consonants, (n, 3)), rng.choice(vowels, (n, 3)))
        one = syllables[:, 0]
        two = np.char.add(one, syllables[:, 1])
        three = np.char.add(two, syllables[:, 2])
        count = rng.integers(1, 4, n)
        stems = np.where(count == 1, one, np.where(count == 2, two, three))
        closing = np.where(rng.random(n) < 0.5, rng.choice(consonants, n), "")
        for word in np.char.add(stems, closing).tolist():
            if word not in seen and len(words) < VOCABULARY:
                seen.add(word)
                words.append(word)
    return words


def _cdf() -> np.ndarray:
    weights = 1.0 / np.arange(1, VOCABULARY + 1) ** ZIPF_EXPONENT
    return np.cumsum(weights / weights.sum())


def _paragraph(words: list[str], ids: np.ndarray) -> str:
    chosen = [words[i] for i in ids.tolist()]
    for end in range(14, len(chosen), 15):
        chosen[end] += "."
    chosen[-1] += "."
    text = " ".join(chosen)
    return text[0].upper() + text[1:]


def make_corpus(passages: int, path: Path) -> None:
    """A SQLite store of ``passages / 5`` articles of five ~120-word paragraphs each."""
    import wikiqa

    rng = np.random.default_rng(SEED)
    words = _vocabulary(rng)
    cdf = _cdf()
    articles = passages // PARAGRAPHS_PER_ARTICLE

    def records() -> Iterator[wikiqa.ArticleRecord]:
        for start in range(0, articles, 1000):
            count = min(1000, articles - start)
            lengths = rng.integers(
                PASSAGE_WORDS - 20, PASSAGE_WORDS + 20, size=count * PARAGRAPHS_PER_ARTICLE
            )
            ids = np.searchsorted(cdf, rng.random(int(lengths.sum())))
            bounds = np.concatenate(([0], np.cumsum(lengths)))
            for a in range(count):
                paragraphs = [
                    _paragraph(words, ids[bounds[p] : bounds[p + 1]])
                    for p in range(a * PARAGRAPHS_PER_ARTICLE, (a + 1) * PARAGRAPHS_PER_ARTICLE)
                ]
                title = " ".join(words[i] for i in rng.integers(100, 20_000, size=2)).title()
                yield wikiqa.ArticleRecord(f"A{start + a}", title, "\n\n".join(paragraphs), None)

    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    store = wikiqa.ArticleStore(f"sqlite:///{tmp}")
    store.upsert(records(), source="synthetic")
    store.close()
    tmp.rename(path)


def make_questions(count: int) -> list[str]:
    """Questions of 2-6 content words drawn from the corpus distribution, wrapped in stop words."""
    rng = np.random.default_rng(SEED + 1)
    words = _vocabulary(np.random.default_rng(SEED))
    cdf = _cdf()
    questions = []
    for _ in range(count):
        ids = np.searchsorted(cdf, rng.random(40))
        content = [words[i] for i in ids if i >= 100][: rng.integers(2, 7)]
        questions.append("What is the " + " ".join(content) + " of it?")
    return questions


def in_cyrillic(questions: list[str]) -> list[str]:
    """The questions spelled in Cyrillic letters: foreign to the corpus, as a Russian question is,
    each with a name (its first content word capitalised)."""
    named = []
    for question in questions:
        head, the, tail = question.partition(" the ")
        named.append(head + the + tail[:1].upper() + tail[1:])
    return [question.translate(_CYRILLIC) for question in named]
