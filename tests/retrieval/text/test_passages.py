"""Passages: paragraph-aware, quotable, with offsets into the article and sentence spans."""

from __future__ import annotations

import re
import statistics

import pytest

from retrieval.text.passages import (
    HARD_CAP_CHARS,
    cut_passages,
    inline_heading,
    looks_like_heading,
    sentence_spans,
)


def _sentence(i: int) -> str:
    return f"Sentence number {i} talks about the river and its many bridges in some detail here."


def _check_offsets(article: str) -> None:
    passages = cut_passages(article)
    for ordinal, passage in enumerate(passages):
        assert passage.ordinal == ordinal
        assert article[passage.start : passage.end] == passage.text
        for s, e in passage.sentences:
            assert 0 <= s < e <= len(passage.text)
    starts = [p.start for p in passages]
    assert starts == sorted(starts)


def test_blank_article_has_no_passages() -> None:
    assert cut_passages("") == []
    assert cut_passages(" \n\n \t\n") == []


def test_paragraphs_that_fit_are_kept_whole() -> None:
    first = " ".join(_sentence(i) for i in range(5))
    second = " ".join(_sentence(i) for i in range(5, 10))
    article = f"{first}\n\n{second}"
    passages = cut_passages(article)
    assert [p.text for p in passages] == [first, second]
    assert passages[1].start == len(first) + 2
    assert len(passages[0].sentences) == 5


def test_heading_joins_the_paragraph_it_introduces() -> None:
    body = " ".join(_sentence(i) for i in range(8))
    article = f"{body}\n\nHistory\n\n{body}"
    passages = cut_passages(article)
    assert passages[-1].text.startswith("History\n\nSentence number 0")
    assert not any(p.text.rstrip().endswith("History") for p in passages)


def test_long_paragraph_is_split_at_sentence_boundaries_into_similar_pieces() -> None:
    article = " ".join(_sentence(i) for i in range(60))
    passages = cut_passages(article)
    assert len(passages) > 3
    lengths = [len(p.text) for p in passages]
    assert max(lengths) <= HARD_CAP_CHARS
    assert statistics.mean(lengths) <= 800
    assert all(p.text.endswith("detail here.") for p in passages)
    _check_offsets(article)


def test_short_paragraphs_are_merged() -> None:
    article = "Born in 1900.\n\nDied in 1980.\n\nBuried in Kyiv."
    passages = cut_passages(article)
    assert len(passages) == 1
    assert len(passages[0].sentences) == 3


def test_run_on_text_without_punctuation_respects_the_cap() -> None:
    article = "word " * 2000
    passages = cut_passages(article)
    assert all(len(p.text) <= HARD_CAP_CHARS for p in passages)
    assert sum(len(p.text.split()) for p in passages) == 2000
    _check_offsets(article)


def test_sentences_do_not_end_at_abbreviations_or_initials() -> None:
    text = "Dr. Smith met J. R. Tolkien in the U.S. in 1950. They talked! Did they? Yes."
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "Dr. Smith met J. R. Tolkien in the U.S. in 1950.",
        "They talked!",
        "Did they?",
        "Yes.",
    ]


def test_offsets_hold_for_odd_whitespace() -> None:
    article = (
        "  Title line\n\n\n  First para. Second sentence.  \n \n\tThird para with O\n2 inside.\r\n\r\nEnd"
    )
    _check_offsets(article)


# The sentence-end rule as a regex: terminal punctuation, optional closing quotes/brackets, then
# whitespace and something that can start a sentence.
SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[\w])")


def _reference_sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """The splitter's rules written the plain way: the regex, a walk back over each stop's word,
    every span stripped."""
    from retrieval.text.passages import _ABBREVIATIONS

    end = len(text) if end is None else end
    spans, begin = [], start
    for match in SENTENCE_END.finditer(text, start, end):
        punct = match.start()
        if len(match.group().rstrip("\"'”’)]")) == 1 and text[punct] == ".":
            word_start = punct
            while word_start > 0 and (text[word_start - 1].isalnum() or text[word_start - 1] == "."):
                word_start -= 1
            word = text[word_start:punct].casefold()
            if word and (word in _ABBREVIATIONS or (len(word) == 1 and text[word_start].isupper())):
                continue
        spans.append((begin, match.end()))
        begin = match.end()
    spans.append((begin, end))
    out = []
    for s, e in spans:
        piece = text[s:e]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            out.append((s + lead, s + lead + len(piece.strip())))
    return out


def test_sentence_spans_follow_the_plain_rules_on_random_text() -> None:
    import random

    rng = random.Random(7)
    words = ["Dr", "dr", "e.g", "U.S", "J", "approx", "approxx", "Sept", "ſt", "K", "x1", "a_b", "ß", "word"]
    stops = [".", "..", "!", "?", "…", '."', ".”", ".)", ".'", ".’", ".]", ""]
    gaps = [" ", "  ", "\n", "\n\n", "\t", "\u00a0", "\u3000", "\x1c", "-"]
    openers = ["", '"', "“", "(", "[", "‘"]
    for _ in range(3000):
        parts = []
        for _ in range(rng.randint(0, 40)):
            parts.append(rng.choice(openers) if rng.random() < 0.2 else "")
            parts.append(
                rng.choice(words)
                if rng.random() < 0.5
                else "".join(rng.choices("abXYé1.", k=rng.randint(1, 9)))
            )
            parts.append(rng.choice(stops) if rng.random() < 0.5 else "")
            parts.append(rng.choice(gaps))
        text = "".join(parts)
        assert sentence_spans(text) == _reference_sentence_spans(text), text
        start, end = sorted(rng.randint(0, len(text)) for _ in range(2))
        assert sentence_spans(text, start, end) == _reference_sentence_spans(text, start, end), text


def test_the_splitter_reads_the_characters_of_the_sentence_end_rule() -> None:
    from retrieval.text import passages

    # _paragraph_sentences encodes this pattern's classes and runs; change both together.
    assert SENTENCE_END.pattern == r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[\w])"
    assert passages._SENTENCE_STOPS == ".!?…"
    assert passages._CLASS_CHARS == {passages._CLOSER: "\"'”’)]", passages._OPENER: "\"'“‘(["}


def test_batch_sentence_ends_are_sentence_spans_of_each_paragraph() -> None:
    import random

    import numpy as np

    from retrieval.text.passages import (
        _ARTICLE_SEPARATOR,
        _paragraph_sentences,
        _paragraph_spans,
        batch_passage_spans,
    )
    from retrieval.text.wordscan import code_points

    rng = random.Random(9)
    words = ["Dr", "e.g", "U.S", "J", "Sept", "approx", "ſt", "Ünï", "ǅ", "word", "x" * 1300]
    stops = [".", "..", "!", "?", "…", '."', ".”", ".)", ".]", ""]
    gaps = [" ", "   ", "\n", "\n\n", "\n \n", "\t", "\u00a0", "\x00", "-"]
    openers = ["", '"', "“", "(", "‘", "["]
    for _ in range(400):
        articles = [
            "".join(
                rng.choice(openers) + rng.choice(words) + rng.choice(stops) + rng.choice(gaps)
                for _ in range(rng.randint(0, 60))
            )
            for _ in range(rng.randint(1, 8))
        ]
        starts, ends, expected, counts = [], [], [], []
        offset = 0
        for article in articles:
            for start, end in _paragraph_spans(article):
                starts.append(offset + start)
                ends.append(offset + end)
                found = sentence_spans(article, start, end)
                expected.extend((offset + s, offset + e) for s, e in found)
                counts.append(len(found))
            offset += len(article) + 1
        codes = code_points(_ARTICLE_SEPARATOR.join(articles) + _ARTICLE_SEPARATOR)
        got_starts, got_ends, got_counts = _paragraph_sentences(
            codes, np.array(starts, np.int64), np.array(ends, np.int64)
        )
        assert list(zip(got_starts.tolist(), got_ends.tolist(), strict=True)) == expected, articles
        assert got_counts.tolist() == counts
        # A batch gives each article what it gets alone.
        _, _, batch = batch_passage_spans(articles)
        assert batch == [batch_passage_spans([article])[2][0] for article in articles]


SEED_LIKE = (
    "Since December 2004, the CSTO has had observer status as a UN General Assembly. History of the "
    "organization On May 15, 1992, Armenia, Kazakhstan, Kyrgyzstan, Russia, Tajikistan, and Uzbekistan "
    "signed a Collective Security Treaty (CSTO) in Tashkent. Azerbaijan signed the agreement in 1993."
)


def test_a_heading_run_into_the_next_sentence_becomes_a_sentence_of_its_own() -> None:
    (passage,) = cut_passages(SEED_LIKE)
    sentences = [passage.text[s:e] for s, e in passage.sentences]
    assert "History of the organization" in sentences
    assert any(s.startswith("On May 15, 1992, Armenia") for s in sentences)
    assert looks_like_heading("History of the organization")
    _check_offsets(SEED_LIKE)


@pytest.mark.parametrize(
    "sentence",
    [
        "Vitamin A is an essential nutrient that the body needs for vision and growth.",
        "He also made a cameo appearance in The Talons of Weng-Chiang as a music hall conductor.",
        "Nintendo and The Pokémon Company also made their Super Bowl debut with a commercial.",
        "His essay On Confession, Whether the Pope has the Power to Require It, was published.",
        "According to The Good Schools Guide approximately 9 per cent of children are educated privately.",
        "Russia is a member The organisation has six member states and an annual summit of leaders.",
    ],
)
def test_titles_and_clauses_in_a_sentence_are_not_taken_for_headings(sentence: str) -> None:
    assert inline_heading(sentence) == 0
    (passage,) = cut_passages(sentence)
    assert len(passage.sentences) == 1


def test_sentences_are_not_headings() -> None:
    assert not looks_like_heading("The treaty was signed in 1992.")
    assert not looks_like_heading("In June 1978, Arledge created the newsmagazine 20/20")
    assert not looks_like_heading("AC and NC, which are defined using Boolean circuits")
