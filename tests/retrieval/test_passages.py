"""Passages: paragraph-aware, quotable, with offsets into the article and sentence spans."""

from __future__ import annotations

import statistics

from retrieval.passages import HARD_CAP_CHARS, cut_passages, sentence_spans


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
