"""Answer → Telegram HTML: escaping, highlighting, and splitting that never breaks a tag."""

from __future__ import annotations

import random

import pytest

from bot.answer import Answer, Quote
from bot.telegram.render_html import highlight, render_answer, render_single, split_html, units
from testing.bot_api_standin import ApiError, parse_html


def quote(
    text: str, spans: tuple[tuple[int, int], ...] = (), link: str = "https://uk.wikipedia.org/wiki/X"
) -> Quote:
    return Quote(text=text, title="Title", article_id="X", link=link, score=1.0, spans=spans)


def answer(*quotes: Quote, line: str | None = "The answer.", **fields) -> Answer:
    return Answer(question="q", answer=line, quotes=quotes, no_match=fields.pop("no_match", False), **fields)


def test_highlight_escapes_text_and_bolds_merged_spans() -> None:
    assert highlight("a < b & c", [(4, 5), (0, 1)]) == "<b>a</b> &lt; <b>b</b> &amp; c"
    assert highlight("abcdef", [(1, 3), (2, 5), (9, 12)]) == "a<b>bcde</b>f"


def test_answer_escapes_every_piece_of_article_text() -> None:
    q = Quote('x <script>&"', 'T <b>&"', "id", 'https://x.org/?a=1&b="2"', 1.0, ())
    (message,) = render_answer(answer(q, line="1 < 2 & 3"))
    text, entities = parse_html(message)
    assert 'x <script>&"' in text and 'T <b>&"' in text and "1 < 2 & 3" in text
    assert {"type": "text_link", "url": 'https://x.org/?a=1&b="2"'}.items() <= next(
        e for e in entities if e["type"] == "text_link"
    ).items()


def test_a_link_telegram_would_refuse_is_left_out() -> None:
    (message,) = render_answer(answer(quote("text", link="javascript:alert(1)")))
    assert "<a " not in message
    parse_html(message)


def test_no_match_is_kind_and_offers_suggestions() -> None:
    (message,) = render_answer(answer(line=None, no_match=True, suggestions=("treaty", "<odd>")))
    text, _ = parse_html(message)
    assert "couldn't find a good match" in text and "treaty" in text and "<odd>" in text


def test_each_suggested_question_stands_on_its_own_line() -> None:
    suggestion = "When was the Collective Security Treaty signed?"
    (message,) = render_answer(answer(line=None, no_match=True, suggestions=(suggestion,)))
    text, _ = parse_html(message)
    assert f"• {suggestion}\n" in text and "??" not in text


def test_a_long_answer_is_split_into_messages_each_valid_and_within_the_limit() -> None:
    body = ("Sentence with <angle> & ampersand. " * 120 + "\n\n") * 3
    q = quote(body, spans=((0, 8), (500, 2500)))
    messages = render_answer(answer(q, q))
    assert len(messages) > 2
    for message in messages:
        assert units(message) <= 4096
        parse_html(message)  # raises on any broken tag or entity
    whole, _ = parse_html(render_answer(answer(q, q), limit=10**9)[0])
    joined = "".join(parse_html(m)[0] for m in messages)
    assert "".join(whole.split()) == "".join(joined.split())


@pytest.mark.parametrize("limit", [120, 300, 1000, 4096])
def test_split_never_cuts_a_tag_or_entity_on_random_markup(limit: int) -> None:
    rng = random.Random(limit)
    pieces = ["word ", "&amp;", "&lt;", "😀", "Ж", "\n", "\n\n", "x" * 300, ". "]
    for _ in range(40):
        parts = []
        for _ in range(rng.randint(1, 400)):
            choice = rng.random()
            if choice < 0.1:
                parts.append(f"<b>{rng.choice(pieces)}{rng.choice(pieces)}</b>")
            elif choice < 0.15:
                parts.append(
                    f'<blockquote><a href="https://x.org/?a&amp;b">{rng.choice(pieces)}</a> y</blockquote>'
                )
            else:
                parts.append(rng.choice(pieces))
        source = "".join(parts) or "x"
        messages = split_html(source, limit)
        assert all(units(m) <= limit for m in messages)
        texts = [parse_html(m)[0] for m in messages]
        assert "".join("".join(texts).split()) == "".join(parse_html(source)[0].split())


def test_split_prefers_paragraph_breaks() -> None:
    paragraph = "word " * 150
    messages = split_html(f"{paragraph}\n\n{paragraph}\n\n{paragraph}", 2000)
    assert [m.count("word") for m in messages] == [300, 150]


def test_a_single_inline_result_is_shortened_to_one_message() -> None:
    message = render_single(quote("long text & more " * 1000, spans=((0, 4),)))
    assert units(message) <= 4096 and message.endswith("…")
    parse_html(message)


def test_the_standin_refuses_html_telegram_would_refuse() -> None:
    for bad in ["<b>open", "a < b", "x & y", "<div>x</div>", "<b><i>x</b></i>"]:
        with pytest.raises(ApiError):
            parse_html(bad)
