"""Terminal rendering: plain text when piped, rich colour on a terminal, same content either way."""

from __future__ import annotations

import io
import subprocess
import sys

from bot.answer import Answer, Quote
from bot.render_terminal import NO_MATCH, print_answer, render_plain

QUOTE = Quote(
    text="The Collective Security Treaty was signed on May 15, 1992, in Tashkent.",
    title="Collective Security Treaty Organization",
    article_id="CSTO",
    link="https://uk.wikipedia.org/wiki/CSTO",
    score=12.5,
    spans=((4, 14), (15, 23)),
)
ANSWER = Answer(
    question="When was the Collective Security Treaty signed?",
    answer="The Collective Security Treaty was signed on May 15, 1992, in Tashkent.",
    quotes=(QUOTE,),
    no_match=False,
    has_more=True,
)


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_text_has_answer_quote_title_and_link_and_no_escape_codes():
    text = render_plain(ANSWER, more_hint="Type 'more'.")
    assert text.startswith("Answer: The Collective Security Treaty was signed on May 15, 1992")
    assert "[1] Collective Security Treaty Organization" in text
    assert "https://uk.wikipedia.org/wiki/CSTO" in text
    assert text.rstrip().endswith("Type 'more'.")
    assert "\x1b[" not in text


def test_no_match_says_so_and_offers_suggestions():
    answer = Answer("Colective?", None, (), True, suggestions=("Collective?", "Elective?"))
    text = render_plain(answer)
    assert NO_MATCH in text
    assert "Did you mean: Collective?  or: Elective?" in text
    assert "Answer:" not in text


def test_later_pages_number_quotes_by_rank_and_skip_the_answer_line():
    page2 = Answer("q", "line", (QUOTE,), False, page=2, extra={"first_quote": 4})
    text = render_plain(page2)
    assert "[4] " in text and "Answer:" not in text


def test_a_page_past_the_end_says_there_is_nothing_more():
    assert "No further quotes." in render_plain(Answer("q", "line", (), False, page=4))


def test_truncated_question_is_mentioned():
    assert "cut to its first 5 characters" in render_plain(Answer("abcde", None, (), True, truncated=True))


def test_print_answer_is_plain_for_a_pipe_and_coloured_for_a_terminal():
    piped = io.StringIO()
    print_answer(ANSWER, file=piped)
    assert piped.getvalue() == render_plain(ANSWER)

    tty = FakeTTY()
    print_answer(ANSWER, file=tty, more_hint="Type 'more'.")
    coloured = tty.getvalue()
    assert "\x1b[" in coloured
    for piece in (
        "Answer:",
        "May 15, 1992",
        "Collective Security Treaty Organization",
        "CSTO",
        "Type 'more'.",
    ):
        assert piece in coloured


def test_matched_terms_are_highlighted_on_a_terminal():
    tty = FakeTTY()
    print_answer(ANSWER, file=tty, color=True)
    quote_part = tty.getvalue().split("[1]")[1]
    # "Collective" and "Security" (the quote's spans) are bold yellow; "Treaty" is not
    assert "\x1b[1;33mCollective" in quote_part
    assert "\x1b[1;33mSecurity" in quote_part
    assert "\x1b[1;33mTreaty" not in quote_part


def test_rendering_plain_text_does_not_import_rich():
    code = (
        "import sys, io\n"
        "from bot.answer import Answer\n"
        "from bot.render_terminal import print_answer\n"
        "print_answer(Answer('q', 'a line', (), False), file=io.StringIO())\n"
        "print('rich' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_long_source_link_is_never_wrapped_on_a_terminal():
    link = "https://uk.wikipedia.org/wiki/" + "%D0%9E" * 40
    long_link = Answer("q", "line", (Quote("text", "Title", "id", link, 1.0, ()),), False)
    tty = FakeTTY()
    print_answer(long_link, file=tty, color=True)
    shown = "https://uk.wikipedia.org/wiki/" + "О" * 40
    assert shown + "\x1b[0m" in tty.getvalue()
    assert "\x1b]8;id=" in tty.getvalue() and link in tty.getvalue()  # the hyperlink keeps the exact URL


def test_source_links_are_shown_decoded_and_kept_exact_in_json():
    link = "https://uk.wikipedia.org/wiki/%D0%9E%D1%80%D0%B3%D0%B0%D0%BD%D1%96%D0%B7%D0%B0%D1%86%D1%96%D1%8F"
    answer = Answer("q", "line", (Quote("text", "Title", "id", link, 1.0, ()),), False)
    assert "https://uk.wikipedia.org/wiki/Організація\n" in render_plain(answer)
    assert link not in render_plain(answer)
    assert answer.to_json()["quotes"][0]["link"] == link


def test_a_heading_run_into_its_paragraph_is_shown_on_a_line_of_its_own():
    text = "History of the organization On May 15, 1992, six states signed the treaty."
    link = "https://uk.wikipedia.org/wiki/CSTO"
    quote = Quote(text, "CSTO", "CSTO", link, 1.0, ((48, 54),), headings=((0, 27),))
    answer = Answer(question="q", answer=None, quotes=(quote,), no_match=False)
    assert "History of the organization\nOn May 15, 1992, six states" in render_plain(answer)
    out = FakeTTY()
    print_answer(answer, file=out)
    heading, _, rest = out.getvalue().partition("\x1b[3mHistory of the organization\x1b[0m")  # in italics
    assert heading and rest.split("\n", 1)[1].lstrip().startswith("On May 15")
