"""Cutting an article into passages: the unit that is ranked and quoted to a user.

A passage must be short enough to quote in a chat message yet whole enough to answer from, so
paragraphs are kept intact where they fit, headings and very short paragraphs join their
neighbours, and long paragraphs are split at sentence boundaries into pieces of similar length.
Every passage keeps its character offsets into the article and its sentence spans, so the
answer line and highlighting never re-split the text.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

Span = tuple[int, int]

# A paragraph at most this long is kept whole; longer ones are split at sentence boundaries.
# Measured on SQuAD (idea table in the closing note): keeping paragraphs of up to 1,200
# characters whole and merging those under 400 gives +0.6 points of answer@1 over 1,000/250,
# for a mean quote of ~760 characters instead of ~650 (the limit is 800).
KEEP_WHOLE_CHARS = 1200
# The length long paragraphs are split towards (pieces come out roughly equal).
TARGET_CHARS = 800
# No passage is longer than this, even when a single "sentence" is (lists, tables, run-ons).
HARD_CAP_CHARS = 1200
# A paragraph shorter than this joins a neighbour when the two fit under KEEP_WHOLE_CHARS.
SHORT_CHARS = 400
# A short line without closing punctuation reads as a heading: it joins the paragraph after it.
HEADING_MAX_CHARS = 120

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
# End of a sentence: terminal punctuation, optional closing quotes/brackets, then whitespace and
# something that can start a sentence.
_SENTENCE_STOPS = ".!?…"
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[\w])")
_ABBREVIATION_TEXT = """
mr mrs ms dr prof st jr sr vs etc e.g i.e cf al fig no vol gen col lt sgt capt gov sen rep
    rev hon inc ltd co corp dept est approx ca c jan feb mar apr jun jul aug sep sept oct nov dec
    u.s u.k u.n a.d b.c p.m a.m"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_TEXT.split())
# A word longer than every abbreviation is none (case folding never shortens a word), so only this
# many characters before a full stop need looking at.
_ABBREVIATION_WINDOW = max(map(len, _ABBREVIATIONS)) + 1
_HEADING_END = re.compile(r"[.!?…:;,\"'”’)\]]\s*$")


@dataclass(frozen=True)
class Passage:
    """One quotable piece of an article; ``sentences`` are spans relative to ``text``."""

    ordinal: int
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...]


def _paragraph_spans(article: str) -> list[Span]:
    """Spans of the non-blank paragraphs (split on blank lines), stripped of outer whitespace."""
    spans: list[Span] = []
    position = 0
    for brk in [*_PARAGRAPH_BREAK.finditer(article), None]:
        stop = brk.start() if brk else len(article)
        chunk = article[position:stop]
        stripped = chunk.strip()
        if stripped:
            lead = len(chunk) - len(chunk.lstrip())
            spans.append((position + lead, position + lead + len(stripped)))
        if brk:
            position = brk.end()
    return spans


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the full stop at ``dot`` ends an abbreviation or an initial, not a sentence.

    The word is the run of letters, digits and full stops before ``dot``. Usually a space comes
    shortly before it, which finds the word in a few string operations; otherwise it is walked
    back character by character.
    """
    space = text.rfind(" ", max(0, dot - _ABBREVIATION_WINDOW), dot)
    if space >= 0 and text[space + 1 : dot].isalnum():
        word_start = space + 1
    else:
        word_start = dot
        while word_start > 0 and (text[word_start - 1].isalnum() or text[word_start - 1] == "."):
            word_start -= 1
    if word_start == dot or dot - word_start >= _ABBREVIATION_WINDOW:
        return False
    word = text[word_start:dot].casefold()
    if word in _ABBREVIATIONS:
        return True
    # A single capital letter ("J. R. R. Tolkien", "World War I." is the rare miss).
    return len(word) == 1 and text[word_start].isupper()


def _stripped(text: str, start: int, end: int) -> Span | None:
    """``(start, end)`` without outer whitespace, or None if nothing else is left."""
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + lead + len(stripped)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentence spans of ``text[start:end]`` as absolute offsets into ``text``, stripped.

    Only the first and last spans can need stripping: the others start after the whitespace that
    follows a sentence end and end with its punctuation.
    """
    end = len(text) if end is None else end
    spans: list[Span] = []
    begin = start
    for match in _SENTENCE_END.finditer(text, start, end):
        punct = match.start()
        # A single full stop (the match always goes on past it) may end an abbreviation.
        if text[punct] == "." and text[punct + 1] not in _SENTENCE_STOPS and _is_abbreviation(text, punct):
            continue
        stop = match.end()
        spans.append((begin, stop))
        # Whitespace follows, then a non-space character before ``end`` (the match's lookahead).
        begin = stop + 1
        while text[begin].isspace():
            begin += 1
    if spans:
        first = _stripped(text, *spans[0])
        assert first is not None  # it holds the sentence end's punctuation
        spans[0] = first
    last = _stripped(text, begin, end)
    if last is not None:
        spans.append(last)
    return spans


def _break_long_sentence(text: str, span: Span, limit: int) -> list[Span]:
    """A run-on "sentence" longer than ``limit`` cut at whitespace into pieces of at most ``limit``."""
    s, e = span
    pieces: list[Span] = []
    while e - s > limit:
        cut = text.rfind(" ", s + 1, s + limit)
        if cut <= s:
            cut = s + limit
        pieces.append((s, cut))
        s = cut
        while s < e and text[s].isspace():
            s += 1
    if s < e:
        pieces.append((s, e))
    return pieces


def _split_balanced(sentences: list[Span]) -> list[list[Span]]:
    """Groups of consecutive sentences of roughly equal length, each under the hard cap."""
    total = sentences[-1][1] - sentences[0][0]
    goal = total / math.ceil(total / TARGET_CHARS)
    groups: list[list[Span]] = []
    current: list[Span] = []
    for sentence in sentences:
        if current:
            length = current[-1][1] - current[0][0]
            with_next = sentence[1] - current[0][0]
            # Close the group before this sentence if that lands nearer the goal, or if the
            # sentence would push the group over the cap.
            if with_next > HARD_CAP_CHARS or (with_next > goal and goal - length < with_next - goal):
                groups.append(current)
                current = []
        current.append(sentence)
    if current:
        groups.append(current)
    return groups


def passage_spans(article: str) -> list[tuple[int, int, list[Span]]]:
    """``(start, end, sentences)`` of each passage of ``article``, all offsets into the article.

    What :func:`cut_passages` returns, without the text copies: the index build takes the
    offsets only.
    """
    if not article or not article.strip():
        return []

    # Units are (start, end, sentences) ranges; headings join the paragraph after them.
    paragraphs = _paragraph_spans(article)
    units: list[tuple[int, int, list[Span]]] = []
    pending_heading: tuple[int, list[Span]] | None = None
    for index, (p_start, p_end) in enumerate(paragraphs):
        is_heading = (
            p_end - p_start <= HEADING_MAX_CHARS
            and "\n" not in article[p_start:p_end]
            and not _HEADING_END.search(article[p_start:p_end])
            and index + 1 < len(paragraphs)
        )
        if is_heading:
            if pending_heading is None:
                pending_heading = (p_start, [(p_start, p_end)])
            else:
                pending_heading[1].append((p_start, p_end))
            continue
        sentences = sentence_spans(article, p_start, p_end)
        if pending_heading is not None:
            p_start = pending_heading[0]
            sentences = pending_heading[1] + sentences
            pending_heading = None
        units.append((p_start, p_end, sentences))

    # Long units are split at sentence boundaries; the rest stay whole.
    pieces: list[tuple[int, int, list[Span], bool]] = []  # (start, end, sentences, from a split)
    for u_start, u_end, sentences in units:
        if u_end - u_start <= KEEP_WHOLE_CHARS:
            pieces.append((u_start, u_end, sentences, False))
            continue
        fine: list[Span] = []
        for sentence in sentences:
            if sentence[1] - sentence[0] > HARD_CAP_CHARS:
                fine.extend(_break_long_sentence(article, sentence, TARGET_CHARS))
            else:
                fine.append(sentence)
        for group in _split_balanced(fine):
            pieces.append((group[0][0], group[-1][1], group, True))

    # Short whole paragraphs join a neighbour (the previous one when possible) if both fit.
    merged: list[tuple[int, int, list[Span], bool]] = []
    for piece in pieces:
        if merged:
            prev = merged[-1]
            short = (piece[1] - piece[0] < SHORT_CHARS and not piece[3]) or (
                prev[1] - prev[0] < SHORT_CHARS and not prev[3]
            )
            if short and piece[1] - prev[0] <= KEEP_WHOLE_CHARS:
                merged[-1] = (prev[0], piece[1], prev[2] + piece[2], prev[3] or piece[3])
                continue
        merged.append(piece)
    return [(start, end, sentences) for start, end, sentences, _ in merged]


def cut_passages(article: str) -> list[Passage]:
    """Paragraph-aware passages of ``article`` with offsets and sentence spans; blank body -> []."""
    return [
        Passage(
            ordinal=ordinal,
            start=start,
            end=end,
            text=article[start:end],
            sentences=tuple((s - start, e - start) for s, e in sentences),
        )
        for ordinal, (start, end, sentences) in enumerate(passage_spans(article))
    ]
