"""The answer line: which sentence of the best passages is shown first."""

from __future__ import annotations

from retrieval.search.answer_line import answer_line
from retrieval.search.hit import Hit
from retrieval.text.analysis import Analyzer
from retrieval.text.passages import sentence_spans

ANALYZER = Analyzer()


def hit(text: str, score: float, title: str = "Treaty", pid: int = 0) -> Hit:
    spans = tuple(sentence_spans(text))
    return Hit(pid, "a", title, "https://x/a", text, score, (), spans, 0, len(text))


def test_picks_the_sentence_covering_the_question_not_the_first_one():
    text = (
        "The organization has six members. "
        "The Collective Security Treaty was signed on May 15, 1992, in Tashkent. "
        "Its headquarters are in Moscow."
    )
    line = answer_line(
        "When was the Collective Security Treaty signed?", [hit(text, 10.0)], analyzer=ANALYZER
    )
    assert line == "The Collective Security Treaty was signed on May 15, 1992, in Tashkent."


def test_rare_question_terms_outweigh_terms_every_candidate_shares():
    text = "The treaty was discussed in Moscow by the treaty members. The treaty was ratified in Yerevan."
    line = answer_line("Where was the treaty ratified?", [hit(text, 5.0)], analyzer=ANALYZER)
    assert line == "The treaty was ratified in Yerevan."


def test_a_lower_ranked_passage_wins_only_with_a_clearly_better_sentence():
    first = hit("Armenia signed the treaty in Tashkent in 1992.", 10.0, pid=1)
    weak = hit("Armenia signed the treaty in Tashkent in 1992 with Kazakhstan.", 2.0, pid=2)
    assert answer_line("Armenia treaty Tashkent Kazakhstan", [first, weak], analyzer=ANALYZER) == first.text
    close = hit("Armenia signed the treaty in Tashkent in 1992 with Kazakhstan.", 9.5, pid=3)
    assert answer_line("Armenia treaty Tashkent Kazakhstan", [first, close], analyzer=ANALYZER) == close.text


def test_prefers_a_sentence_with_a_number_when_asked_how_many():
    text = "The alliance has members in Asia and Europe. The alliance has 6 members."
    assert answer_line("How many members does the alliance have?", [hit(text, 3.0)], analyzer=ANALYZER) == (
        "The alliance has 6 members."
    )
    assert answer_line("Which members does the alliance have?", [hit(text, 3.0)], analyzer=ANALYZER) == (
        "The alliance has members in Asia and Europe."
    )


def test_no_line_without_hits_content_words_or_any_overlap():
    text = "Armenia signed the treaty."
    assert answer_line("When was it signed?", [], analyzer=ANALYZER) is None
    assert answer_line("What is it?", [hit(text, 1.0)], analyzer=ANALYZER) is None
    assert answer_line("volcanic eruptions", [hit(text, 1.0)], analyzer=ANALYZER) is None


def test_a_passage_without_sentence_spans_is_one_sentence():
    bare = Hit(0, "a", "T", "l", "  Armenia signed the treaty  ", 1.0, (), (), 0, 29)
    assert answer_line("Who signed the treaty?", [bare], analyzer=ANALYZER) == "Armenia signed the treaty"


def test_a_run_on_sentence_is_answered_with_its_matching_clause():
    clauses = [
        "in 1840 his first collection of poems was published in St Petersburg with eight poems",
        "from 1843 he travelled in Ukraine, drawing its monuments for the archaeographic commission",
        "in 1847 he was arrested in Kyiv in connection with the secret brotherhood of the city",
        "after ten years of exile he returned to the capital, where he died in the spring of 1861",
    ]
    text = "Shevchenko lived a hard life: " + "; ".join(clauses) + "."
    line = answer_line("When was Shevchenko arrested in Kyiv?", [hit(text, 10.0)], analyzer=ANALYZER)
    assert line == clauses[2]


def test_a_long_sentence_without_semicolons_is_kept_whole():
    text = "The treaty was signed in Tashkent " + ", ".join(["and then ratified"] * 30) + "."
    assert answer_line("Where was the treaty signed?", [hit(text, 10.0)], analyzer=ANALYZER) == text
