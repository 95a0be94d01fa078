"""The seed article's inline heading ("History of the organization On May 15, 1992, ...") stays out
of the answer line and is shown as a heading in the quote."""

from __future__ import annotations

from pathlib import Path

from bot.answer import Answerer
from bot.corpus import open_snapshot
from bot.settings import load_settings
from bot.telegram.render_html import render_answer

CSTO = "When was the Collective Security Treaty signed?"


def _answer(sample_home: Path):
    settings = load_settings({"WIKIQA_HOME": str(sample_home), "WIKIQA_SEMANTIC": "off"}, dotenv=False)
    return Answerer(open_snapshot(settings)).answer(CSTO)


def test_the_answer_line_leaves_the_glued_heading_out(sample_home):
    answer = _answer(sample_home)
    assert answer.answer.startswith("On May 15, 1992, Armenia")
    quote = next(q for q in answer.quotes if "History of the organization" in q.text)
    assert [quote.text[s:e] for s, e in quote.headings] == ["History of the organization"]


def test_telegram_shows_the_heading_on_a_line_of_its_own(sample_home):
    message = render_answer(_answer(sample_home))[0]
    assert "\n<i>History of the organization</i>\nOn May 15, 1992" in message
