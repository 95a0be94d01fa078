"""Answer → terminal text: colour and layout with rich on a terminal, plain text when piped.

Plain text is for scripts and pipes: no escape codes, no wrapping, no highlight marks (the JSON
output carries the spans for anyone who needs them). rich is imported only when colour is
actually wanted, so a piped ``wikiqa ask`` never pays for it.
"""

from __future__ import annotations

import sys
from typing import TextIO
from urllib.parse import unquote

from bot.answer import Answer

NO_MATCH = "No good match in the corpus for this question."


def readable_link(link: str) -> str:
    """The link as a person reads it: percent-escapes decoded (``Організація_договору`` rather
    than three lines of ``%D0%9E%D1%80...``). Terminals open the decoded form too; JSON output
    and the hyperlink escape keep the exact URL."""
    return unquote(link)


def _did_you_mean(answer: Answer) -> str | None:
    if not answer.suggestions:
        return None
    return "Did you mean: " + "  or: ".join(answer.suggestions)


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
        lines.append(f"Answer: {answer.answer}")
    hint = _did_you_mean(answer)
    if hint:
        lines.append(hint)
    first = _first_quote_number(answer)
    for number, quote in enumerate(answer.quotes, start=first):
        lines.append("")
        lines.append(f"[{number}] {quote.title}")
        lines.append(quote.text)
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
        console.print(Text.assemble(("Answer: ", "bold"), (answer.answer, "bold green")))
    hint = _did_you_mean(answer)
    if hint:
        console.print(Text(hint, style="cyan"))
    first = _first_quote_number(answer)
    for number, quote in enumerate(answer.quotes, start=first):
        console.print()
        console.print(Text.assemble((f"[{number}] ", "dim"), (quote.title, "bold")))
        body = Text(quote.text)
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
