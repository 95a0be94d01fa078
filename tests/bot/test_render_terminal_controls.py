"""Control characters in articles never reach the terminal as they are: a decoded ``%0A`` in a
link cannot start a fake link line, and NUL or ESC in a title, answer or quote is shown as a symbol
(plain and rich output alike). JSON output keeps the exact text and URL."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace

import pytest

from bot.render_terminal import print_answer, readable_link, render_plain
from tests.bot.test_render_terminal import ANSWER, QUOTE, FakeTTY

EVIL_LINK = "https://uk.wikipedia.org/wiki/x%0Ahttps://evil.example/%1B[2J"
ODD = replace(
    ANSWER,
    answer="Signed \x1b[31min red\x1b[0m on May 15, 1992.",
    quotes=(
        replace(
            QUOTE,
            title="Title\x00with NUL\nand a line",
            text="Body \x1b]8;;https://evil.example\x07text\r\nnext line\tkept.",
            link=EVIL_LINK,
        ),
    ),
)


def test_a_link_keeps_control_characters_escaped_and_the_rest_decoded() -> None:
    assert readable_link(EVIL_LINK) == "https://uk.wikipedia.org/wiki/x%0Ahttps://evil.example/%1B[2J"
    assert readable_link("https://uk.wikipedia.org/wiki/%D0%9A%D0%B8%D1%97%D0%B2") == (
        "https://uk.wikipedia.org/wiki/Київ"
    )


@pytest.mark.parametrize("color", [False, True], ids=["plain", "rich"])
def test_no_control_character_reaches_the_terminal(color: bool) -> None:
    out = FakeTTY() if color else io.StringIO()
    print_answer(ODD, file=out, color=color)
    # On a terminal, rich's own colour and hyperlink sequences are the only escapes.
    shown = _without_rich_codes(out.getvalue()) if color else out.getvalue()
    assert not [c for c in shown if c not in "\n\t" and (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F)]
    assert "Signed ␛[31min red␛[0m" in shown
    assert "Title␀with NUL␊and a line" in shown
    assert "Body ␛]8;;https://evil.example␇text␍" in shown and "next line" in shown  # rich pads lines
    links = [line.strip() for line in shown.splitlines() if "https://" in line and "Body" not in line]
    assert links == ["https://uk.wikipedia.org/wiki/x%0Ahttps://evil.example/%1B[2J"]


def _without_rich_codes(text: str) -> str:
    """rich's output less its own SGR and hyperlink sequences."""
    return re.sub(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b]*\x1b\\", "", text)


def test_plain_and_json_differ_only_in_how_they_show_it() -> None:
    assert "\x1b" not in render_plain(ODD)
    payload = json.dumps(ODD.to_json(), ensure_ascii=False)
    assert json.loads(payload)["answer"] == ODD.answer  # exact, escaped by JSON itself
