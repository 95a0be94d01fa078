"""Answer → terminal text: colour and layout with rich on a terminal, plain text when piped.

Plain text is for scripts and pipes: no escape codes, no wrapping, no highlight marks (the JSON
output carries the spans for anyone who needs them). rich is imported only when colour is
actually wanted, so a piped ``wikiqa ask`` never pays for it.
"""

from __future__ import annotations

import re
import sys
from typing import TextIO
from urllib.parse import quote as percent_encode
from urllib.parse import unquote

from bot.answer import Answer

NO_MATCH = "No good match in the corpus for this question."
# Control characters (C0, DEL, C1): a terminal acts on them (ESC starts a command, a line break
# starts a line that may pass for one of ours), so none is ever written as it is.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# The same but for line breaks and tabs, which a quote may hold.
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _picture(match: re.Match[str]) -> str:
    """A control character as its visible symbol: U+2400 and on for C0 (␀, ␛), ␡ for DEL, U+FFFD
    for C1; one character for one, so highlight spans keep their offsets."""
    code = ord(match.group())
    return chr(0x2400 + code) if code < 0x20 else "\u2421" if code == 0x7F else "\ufffd"


def terminal_text(text: str, *, one_line: bool = True) -> str:
    """``text`` safe to write to a terminal: control characters shown as symbols; line breaks and
    tabs kept only when ``one_line`` is False (a quote's body)."""
    return (_CONTROL if one_line else _CONTROL_IN_TEXT).sub(_picture, text)


def quote_body(text: str, headings: tuple[tuple[int, int], ...]) -> str:
    """A quote's text with each section heading in it on a line of its own (the source may have
    run one into the next sentence: "History of the organization On May 15 ..."): the space after
    it becomes a line break, so highlight offsets stay where they were."""
    chars = list(terminal_text(text, one_line=False))
    for _, end in headings:
        if end < len(chars) and chars[end] == " ":
            chars[end] = "\n"
    return "".join(chars)


def readable_link(link: str) -> str:
    """The link as a person reads it: percent-escapes decoded (``Організація_договору`` rather
    than three lines of ``%D0%9E%D1%80...``), except those of control characters, which stay
    escaped (a decoded ``%0A`` would start a new line, a fake link on it). Terminals open the
    decoded form too; JSON output and the hyperlink escape keep the exact URL."""
    return _CONTROL.sub(lambda m: percent_encode(m.group()), unquote(link))


def _did_you_mean(answer: Answer) -> str | None:
    if not answer.suggestions:
        return None
    return "Did you mean: " + "  or: ".join(terminal_text(s) for s in answer.suggestions)


def _first_quote_number(answer: Answer) -> int:
    """Quotes are numbered by rank across pages, so page 2 of three-quote pages starts at [4]."""
    return int(answer.extra.get("first_quote", 1))


def render_plain(answer: Answer, *, more_hint: str | None = None) -> str:
    """The answer as plain lines (ending in a newline)."""
    lines: list[str] = []
    if answer.truncated:
        lines.append(f"(The question was cut to its first {len(answer.question)} characters.)")
    if answer.no_match:
        lines.append(NO_MATCH)
    elif answer.answer and answer.page == 1:
        lines.append(f"Answer: {terminal_text(answer.answer)}")
    hint = _did_you_mean(answer)
    if hint:
        lines.append(hint)
    first = _first_quote_number(answer)
    for number, quote in enumerate(answer.quotes, start=first):
        lines.append("")
        lines.append(f"[{number}] {terminal_text(quote.title)}")
        lines.append(quote_body(quote.text, quote.headings))
        lines.append(readable_link(quote.link))
    if not answer.no_match and not answer.quotes:
        lines.append("No further quotes.")
    if answer.has_more and more_hint:
        lines.append("")
        lines.append(more_hint)
    return "\n".join(lines) + "\n"


def _print_rich(answer: Answer, file: TextIO, more_hint: str | None) -> None:
    from rich.console import Console
    from rich.padding import Padding
    from rich.style import Style
    from rich.text import Text

    console = Console(file=file, highlight=False, soft_wrap=False)
    if answer.truncated:
        console.print(
            Text(f"The question was cut to its first {len(answer.question)} characters.", style="yellow")
        )
    if answer.no_match:
        console.print(Text(NO_MATCH, style="bold yellow"))
    elif answer.answer and answer.page == 1:
        console.print(Text.assemble(("Answer: ", "bold"), (terminal_text(answer.answer), "bold green")))
    hint = _did_you_mean(answer)
    if hint:
        console.print(Text(hint, style="cyan"))
    first = _first_quote_number(answer)
    for number, quote in enumerate(answer.quotes, start=first):
        console.print()
        console.print(Text.assemble((f"[{number}] ", "dim"), (terminal_text(quote.title), "bold")))
        body = Text(quote_body(quote.text, quote.headings))
        for start, end in quote.headings:
            body.stylize("italic", start, end)
        for start, end in quote.spans:
            body.stylize("bold yellow", start, end)
        console.print(Padding(body, (0, 0, 0, 4)))
        # never wrapped, so the terminal still sees one clickable link (also a hyperlink escape)
        shown = readable_link(quote.link)
        link = Text.assemble("    ", (shown, Style(color="blue", underline=True, link=quote.link)))
        console.print(link, no_wrap=True, overflow="ignore", crop=False)
    if not answer.no_match and not answer.quotes:
        console.print(Text("No further quotes.", style="dim"))
    if answer.has_more and more_hint:
        console.print()
        console.print(Text(more_hint, style="dim"))


def print_answer(
    answer: Answer, *, file: TextIO | None = None, color: bool | None = None, more_hint: str | None = None
) -> None:
    """Write ``answer`` to ``file`` (stdout): rich when ``color`` (default: the file is a TTY)."""
    file = file or sys.stdout
    if color is None:
        color = file.isatty()
    if color:
        _print_rich(answer, file, more_hint)
    else:
        file.write(render_plain(answer, more_hint=more_hint))
        file.flush()
