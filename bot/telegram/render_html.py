"""Answer → Telegram HTML messages.

Every piece of article text goes through :func:`html.escape`, so the only tags in a message are the
ones written here (``b``, ``i``, ``a``, ``blockquote``). On a phone an answer must read at a
glance: the answer line first, then each quote as an expandable block quote, of which Telegram
shows the first few lines until it is tapped; bold marks the words of the quote's sentence that
the answer line is (what answers), not every occurrence of every question word. A long answer is
split into several messages by :func:`split_html`, which cuts between words (preferring
paragraph and line breaks), never inside a tag or an entity, and closes the tags open at a cut and
reopens them in the next message, so each message is valid HTML on its own. Lengths are counted
in UTF-16 code units on the HTML source, which is never shorter than the text Telegram measures
after parsing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from telegram.constants import MessageLimit

from bot.answer import Answer, Quote

MAX_MESSAGE = MessageLimit.MAX_TEXT_LENGTH
# The longest run of text without a break point: longer words are cut into pieces this long.
_MAX_PIECE = 256

_ATOM = re.compile(r"(<[^<>]+>)|(&#?[A-Za-z0-9]+;)|([^<&]+)")
_PIECE = re.compile(r"\S+\s*|\s+")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` escaped, with the character ranges in ``spans`` in bold (overlaps merged)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(0, start), min(len(text), end)
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(html.escape(text[pos:start], quote=False))
        out.append(f"<b>{html.escape(text[start:end], quote=False)}</b>")
        pos = end
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


def source_link(quote: Quote) -> str:
    """The quote's title, linked to its source when the link is one Telegram accepts."""
    title = html.escape(quote.title or quote.article_id or "source", quote=False)
    if quote.link.startswith(("http://", "https://")):
        return f'<a href="{html.escape(quote.link, quote=True)}">{title}</a>'
    return title


def answering_spans(quote: Quote, line: str | None) -> tuple[tuple[int, int], ...]:
    """The matched words of ``quote`` that lie in its sentence ``line`` (the answer line): what
    answers. None where the answer line is another quote's."""
    if not line:
        return ()
    start = quote.text.find(line)
    if start < 0:
        return ()
    end = start + len(line)
    return tuple((s, e) for s, e in quote.spans if start <= s and e <= end)


def render_quote(
    quote: Quote, *, spans: Iterable[tuple[int, int]] | None = None, expandable: bool = False
) -> str:
    """The quote's linked title over its text in a block quote; ``spans`` in bold (all the matched
    words when None); ``expandable`` collapses it to its first lines until tapped."""
    opener = "<blockquote expandable>" if expandable else "<blockquote>"
    body = _with_headings(quote.text, tuple(quote.spans if spans is None else spans), quote.headings)
    return f"📖 {source_link(quote)}\n{opener}{body}</blockquote>"


def _with_headings(text: str, spans: tuple[tuple[int, int], ...], headings: Sequence[tuple[int, int]]) -> str:
    """``text`` highlighted, each section heading in it in italics on a line of its own (the
    source may have run one into the next sentence: "History of the organization On May 15 ...")."""
    out: list[str] = []
    pos = 0
    for start, end in sorted(headings):
        if start < pos:
            continue
        out.append(
            highlight(text[pos:start], [(s - pos, e - pos) for s, e in spans if pos <= s and e <= start])
        )
        if out[-1] and not out[-1].endswith("\n"):
            out[-1] = out[-1].rstrip() + "\n"
        out.append(f"<i>{html.escape(text[start:end], quote=False)}</i>\n")
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    out.append(highlight(text[pos:], [(s - pos, e - pos) for s, e in spans if pos <= s]))
    return "".join(out)


def render_answer(answer: Answer, *, notice: str | None = None, limit: int = MAX_MESSAGE) -> list[str]:
    """The messages (one or more, each ≤ ``limit``) that show one page of ``answer``."""
    parts: list[str] = []
    if notice:
        parts.append(f"<i>{html.escape(notice, quote=False)}</i>")
    if answer.page > 1:
        parts.append(f"<i>More quotes (page {answer.page}):</i>")
    elif answer.no_match or not answer.quotes:
        parts.append(no_match_text(answer.suggestions))
    elif answer.answer:
        line = f"💡 <b>{html.escape(answer.answer, quote=False)}</b>"
        if answer.about:
            line += f"\n<i>(about {html.escape(answer.about, quote=False)})</i>"
        parts.append(line)
    parts.extend(
        render_quote(quote, spans=answering_spans(quote, answer.answer), expandable=True)
        for quote in answer.quotes
    )
    if answer.page > 1 and not answer.quotes:
        parts.append("That was everything I found for this question.")
    return split_html("\n\n".join(parts), limit)


def no_match_text(suggestions: Sequence[str]) -> str:
    text = "I'm sorry, I couldn't find a good match for that in the articles I know."
    if suggestions:
        # Suggestions are whole corrected questions, each on its own line.
        lines = "\n".join(f"• <i>{html.escape(s, quote=False)}</i>" for s in suggestions[:3])
        text += f"\nDid you mean:\n{lines}"
    return text + "\nTry naming the person, place or organisation you are asking about."


def render_single(quote: Quote, *, limit: int = MAX_MESSAGE) -> str:
    """One quote as one message (for inline results), shortened with an ellipsis if too long."""
    parts = split_html(render_quote(quote), limit - 2)
    return parts[0] if len(parts) == 1 else parts[0] + " …"


def _atoms(source: str, max_piece: int) -> list[tuple[str, str, str]]:
    """(kind, html, tag name) with kind one of open, close, entity, text; text cut into words."""
    atoms: list[tuple[str, str, str]] = []
    for match in _ATOM.finditer(source):
        tag, entity, text = match.groups()
        if tag is not None:
            name = _TAG_NAME.match(tag)
            kind = "close" if tag.startswith("</") else "open"
            atoms.append((kind, tag, name.group(1).lower() if name else ""))
        elif entity is not None:
            atoms.append(("entity", entity, ""))
        else:
            for piece in _PIECE.findall(text):
                for start in range(0, len(piece), max_piece):
                    atoms.append(("text", piece[start : start + max_piece], ""))
    return atoms


def _break_quality(atom: tuple[str, str, str]) -> int:
    kind, text, _ = atom
    if kind == "close" or text.endswith("\n\n"):
        return 3
    if text.endswith("\n"):
        return 2
    if text.endswith((". ", "! ", "? ", "; ")):
        return 1
    return 0


def _closers(stack: Sequence[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def split_html(source: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Cut well-formed HTML into messages of at most ``limit`` UTF-16 units, each well-formed.

    A cut goes at the best break point in the second half of the message (a closed block or a
    blank line, then a line break, then a sentence end, then any space), never inside a tag or an
    entity and never just before a closing tag (which would leave an empty element behind).
    """
    if units(source) <= limit:
        return [source]
    atoms = _atoms(source, max(1, min(_MAX_PIECE, limit // 8)))
    messages: list[str] = []
    stack: list[tuple[str, str]] = []
    i = 0
    while i < len(atoms):
        # Skip whitespace at the start of a message that has no open tags to carry over.
        while not stack and i < len(atoms) and atoms[i][0] == "text" and not atoms[i][1].strip():
            i += 1
        if i >= len(atoms):
            break
        body = [opener for _, opener in stack]
        size = sum(units(opener) for opener in body)
        current = list(stack)
        best: tuple[int, int, int, list[tuple[str, str]], int] | None = None  # quality, size, j, stack, len
        j = i
        while j < len(atoms):
            kind, text, name = atoms[j]
            if kind == "open":
                after = [*current, (name, text)]
            elif kind == "close":
                after = current[:-1]
            else:
                after = current
            if size + units(text) + units(_closers(after)) > limit:
                break
            body.append(text)
            size += units(text)
            current = after
            j += 1
            next_is_close = j < len(atoms) and atoms[j][0] == "close"
            if kind != "open" and not next_is_close:
                candidate = (_break_quality(atoms[j - 1]), size, j, list(current), len(body))
                if best is None or best[1] * 2 < limit or candidate[0] >= best[0]:
                    best = candidate
        if j >= len(atoms):
            messages.append("".join(body) + _closers(current))
            break
        if best is None:
            raise ValueError(f"cannot fit HTML into messages of {limit} characters")
        _, _, cut, cut_stack, body_len = best
        messages.append("".join(body[:body_len]).rstrip() + _closers(cut_stack))
        stack, i = cut_stack, cut
    return [m for m in messages if m.strip()]
