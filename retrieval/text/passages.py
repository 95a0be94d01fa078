"""Cutting an article into passages: the unit that is ranked and quoted to a user.

A passage must be short enough to quote in a chat message yet whole enough to answer from, so
paragraphs are kept intact where they fit, headings and very short paragraphs join their
neighbours, and long paragraphs are split at sentence boundaries into pieces of similar length.
Every passage keeps its character offsets into the article and its sentence spans, so the
answer line and highlighting never re-split the text.

Sentences end at terminal punctuation (``.!?…``), then any closing quotes or brackets, then
whitespace and a word character (or an opening quote or bracket and one), unless a single full
stop ends an abbreviation or an initial. The rule runs over code points with numpy
(:func:`_paragraph_sentences`), a few array operations per batch of articles instead of a regex
match and Python checks per sentence (most of the cutting time at a million passages); the index
build cuts a whole batch in one call (:func:`batch_passage_spans`), :func:`sentence_spans` one
range of one text. A test holds it to the rule written as a regex.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import sys
from dataclasses import dataclass

import numpy as np

from retrieval.text.wordscan import code_points, every_character

Span = tuple[int, int]
PassageSpan = tuple[int, int, list[Span]]  # start, end, sentences

# A paragraph at most this long is kept whole; longer ones are split at sentence boundaries.
# On SQuAD, keeping paragraphs of up to 1,200 characters whole and merging those under 400
# answers more questions in the first quote than 1,000 and 250 do, for a mean quote still under
# the 800 characters a chat message should hold.
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
# A text without its outer whitespace (\s is what str.strip removes): first to last non-space.
# (DOTALL ``.*`` rather than ``[\s\S]*``: the regex engine runs the former much faster.)
_STRIPPED = re.compile(r"\S(?:.*\S)?", re.DOTALL)
# End of a sentence: terminal punctuation, optional closing quotes/brackets, then whitespace and
# something that can start a sentence (the module docstring; :func:`_paragraph_sentences`).
_SENTENCE_STOPS = ".!?…"
_ABBREVIATION_TEXT = """
mr mrs ms dr prof st jr sr vs etc e.g i.e cf al fig no vol gen col lt sgt capt gov sen rep
    rev hon inc ltd co corp dept est approx ca c jan feb mar apr jun jul aug sep sept oct nov dec
    u.s u.k u.n a.d b.c p.m a.m"""
_ABBREVIATIONS = frozenset(_ABBREVIATION_TEXT.split())
# A word longer than every abbreviation is none (case folding never shortens a word), so only this
# many characters before a full stop need looking at.
_ABBREVIATION_WINDOW = max(map(len, _ABBREVIATIONS)) + 1
_HEADING_END = re.compile(r"[.!?…:;,\"'”’)\]]\s*$")
# A section heading the source ran into the next sentence, without a full stop, as the seed
# article does ("History of the organization On May 15, 1992, Armenia ... signed"): two to seven
# words, the first capitalised, no digits or punctuation, then a word that only opens a sentence
# ("On", "The", ...), which mid-sentence would be lower case. One-word headings and "A"/"An"
# openers are left alone: "Vitamin A is", "Stand By Me was" read the same way.
_INLINE_HEADING = re.compile(
    r"(?P<heading>[^\W\d_][^\W\d_'’-]*(?:[ '’-][^\W\d_]+){1,6}) "
    r"(?=(?:On|In|The|At|After|Before|During|Since|From|Following|Under|With|When|While|Although|"
    r"According|Between|Until|He|She|They|This|These|Its|Their)\s(?P<next>\S))"
)
# A clause's words, not a title's: how none ends ("Nintendo and The Pokémon Company ...") or
# starts ("His essay On Confession ..."), where the opener begins a title, not a sentence.
_NOT_HEADING_END = frozenset({"and", "or", "of", "by", "to", "than", "that", "in", "on", "at", "for", "from"})
_NOT_HEADING_END |= {"with", "as", "the", "a", "an", "into", "also", "saw", "came"}
_NOT_HEADING_START = frozenset({"it", "he", "she", "they", "his", "her", "its", "their", "this", "that"})
_NOT_HEADING_START |= {"these", "those", "some", "later", "according", "from", "with", "older"}
# Words that make the would-be heading a clause rather than a title ("Russia is ... The").
_NOT_IN_HEADING = frozenset({"is", "was", "are", "were", "has", "had", "have", "be", "been", "will", "can"})
# What must follow an inline heading for it to be one: a sentence, not a few words.
INLINE_HEADING_MIN_REST = 40

# The sentence-end rule's characters, for finding sentence ends with numpy
# (:func:`_paragraph_sentences`): stops by comparison, the other classes as bit flags in a table
# of all code points.
_STOP_CODES = [ord(c) for c in _SENTENCE_STOPS]
_CLOSER, _OPENER, _SPACE, _WORD, _ALNUM = 1, 2, 4, 8, 16
_CLASS_CHARS = {_CLOSER: "\"'”’)]", _OPENER: "\"'“‘(["}
_CLASS_PATTERNS = {_SPACE: r"\s+", _WORD: r"\w+", _ALNUM: r"[^\W_]+"}
# Articles of a batch are joined with this character between them: it is in no class, so no run
# of stops, word or abbreviation crosses from one article into the next.
_ARTICLE_SEPARATOR = "\x00"


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
        inner = _STRIPPED.search(article, position, stop)
        if inner:
            spans.append(inner.span())
        if brk:
            position = brk.end()
    return spans


def inline_heading(text: str, start: int = 0, end: int | None = None) -> int:
    """The length of the section heading that ``text[start:end]`` (a sentence) opens with, run
    into it without a full stop ("History of the organization On May 15, 1992, ..."); 0 if none."""
    end = len(text) if end is None else end
    if not text[start : start + 1].isupper():
        return 0
    found = _INLINE_HEADING.match(text, start, end)
    if found is None or end - found.end() < INLINE_HEADING_MIN_REST:
        return 0
    heading = found["heading"]
    words = heading.casefold().split()
    if (
        len(heading) > HEADING_MAX_CHARS
        or _NOT_IN_HEADING.intersection(words)
        or words[-1] in _NOT_HEADING_END
        or words[0] in _NOT_HEADING_START
        # "The" before a capital opens a title ("... appearance in The Talons of Weng-Chiang").
        or (text.startswith("The ", found.end()) and found["next"].isupper())
    ):
        return 0
    return len(heading)


_HEADING_WORDS = re.compile(r"[^\W\d_][^\W\d_'’-]*(?: [^\W\d_][^\W\d_'’-]*){0,7}")


def looks_like_heading(text: str) -> bool:
    """Whether a sentence span is a section heading: up to eight words, capitalised, without
    digits, punctuation or a verb such as "is" ("Key Features", "History of the organization")."""
    return (
        text[:1].isupper()
        and _HEADING_WORDS.fullmatch(text) is not None
        and not _NOT_IN_HEADING.intersection(text.casefold().split())
    )


def _without_inline_headings(article: str, sentences: list[Span]) -> list[Span]:
    """``sentences`` with each inline heading made a sentence span of its own, so the answer line
    can leave it out and a front end can show it as a heading."""
    out: list[Span] = []
    for start, end in sentences:
        length = inline_heading(article, start, end)
        if length:
            out.append((start, start + length))
            start += length + 1
        out.append((start, end))
    return out


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
    """Sentence spans of ``text[start:end]`` as absolute offsets into ``text``, stripped (the
    words before ``start`` still tell whether a full stop ends an abbreviation)."""
    end = len(text) if end is None else end
    span = _stripped(text, start, end)
    if span is None:
        return []
    codes = code_points(text + _ARTICLE_SEPARATOR)
    starts, ends, _ = _paragraph_sentences(codes, np.array(span[:1], np.int64), np.array(span[1:], np.int64))
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


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


@functools.cache
def _char_classes() -> np.ndarray:
    """The class flags of every code point (space, word and alphanumeric found by the regex engine)."""
    table = np.zeros(sys.maxunicode + 1, np.uint8)
    every = every_character()
    for flag, pattern in _CLASS_PATTERNS.items():
        for run in re.finditer(pattern, every):
            table[run.start() : run.end()] |= flag
    for flag, chars in _CLASS_CHARS.items():
        table[[ord(c) for c in chars]] |= flag
    return table


def _abbreviation_key(codes: np.ndarray) -> int:
    """An ASCII word (code points, lower case) packed one byte a character into an integer."""
    return sum(int(c) << (8 * i) for i, c in enumerate(codes.tolist()))


@functools.cache
def _abbreviation_keys() -> np.ndarray:
    return np.array(
        sorted(_abbreviation_key(np.frombuffer(w.encode("ascii"), np.uint8)) for w in _ABBREVIATIONS),
        np.uint64,
    )


def _advance(codes: np.ndarray, positions: np.ndarray, flag: int) -> np.ndarray:
    """Each position moved past the run of characters of class ``flag`` that starts there."""
    classes = _char_classes()
    out = positions.copy()
    moving = np.flatnonzero(classes[codes[out]] & flag)
    while moving.size:
        out[moving] += 1
        moving = moving[(classes[codes[out[moving]]] & flag) != 0]
    return out


def _paragraph_sentences(
    codes: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`sentence_spans` gives for each range ``[starts[i], ends[i])`` of ``codes``, at once.

    The ranges are stripped, sorted and apart, and ``codes`` ends with a character of no class,
    as does every article: no stop run crosses an article boundary. Returns the sentence starts
    and ends (sorted) and the number of sentences of each range.

    Read as a regex: a match is a maximal run of stops within the range (a run that fails also
    fails from any later position inside it), then the maximal run of closers, then whitespace
    that must reach a word character, or an opener and a word character, before the range ends.
    """
    classes = _char_classes()
    stops = np.flatnonzero(functools.reduce(np.logical_or, [codes == c for c in _STOP_CODES]))
    gaps = np.flatnonzero(np.diff(stops) != 1)
    run_starts = stops[np.concatenate(([0], gaps + 1))] if stops.size else stops
    run_ends = stops[np.concatenate((gaps, [len(stops) - 1]))] + 1 if stops.size else stops
    # Each run belongs to the range holding its last stop; one that runs past its range's end
    # could not end a sentence, as whitespace and a word must follow before the end.
    paragraph = np.searchsorted(starts, run_ends - 1, side="right") - 1
    inside = paragraph >= 0
    inside[inside] = run_ends[inside] <= ends[paragraph[inside]]
    run_starts, run_ends, paragraph = run_starts[inside], run_ends[inside], paragraph[inside]
    run_starts = np.maximum(run_starts, starts[paragraph])  # a range may start inside a run
    limit = ends[paragraph]

    match_ends = _advance(codes, run_ends, _CLOSER)
    ok = (match_ends < limit) & ((classes[codes[match_ends]] & _SPACE) != 0)
    following = _advance(codes, match_ends, _SPACE)  # the next sentence's first character
    ok &= following < limit
    after = classes[codes[np.minimum(following, len(codes) - 1)]]
    after_next = classes[codes[np.minimum(following + 1, len(codes) - 1)]]
    ok &= ((after & _WORD) != 0) | (
        ((after & _OPENER) != 0) & (following + 1 < limit) & ((after_next & _WORD) != 0)
    )
    single = np.flatnonzero(ok & (run_ends - run_starts == 1) & (codes[run_starts] == ord(".")))
    ok[single[_abbreviations(codes, run_starts[single])]] = False

    sentence_starts = np.sort(np.concatenate((starts, following[ok])))
    sentence_ends = np.sort(np.concatenate((match_ends[ok], ends)))
    counts = np.bincount(paragraph[ok], minlength=len(starts)) + 1
    return sentence_starts, sentence_ends, counts


def _abbreviations(codes: np.ndarray, dots: np.ndarray) -> np.ndarray:
    """Which full stops at ``dots`` end an abbreviation or an initial (as :func:`_is_abbreviation`)."""
    window = _ABBREVIATION_WINDOW
    before = dots[:, None] - np.arange(1, window + 1)  # dot - 1, dot - 2, ...
    valid = before >= 0
    before = np.maximum(before, 0)
    window_codes = codes[before]
    in_word = valid & (((_char_classes()[window_codes] & _ALNUM) != 0) | (window_codes == ord(".")))
    lengths = np.where(in_word.all(axis=1), window, np.argmin(in_word, axis=1))
    result = np.zeros(len(dots), np.bool_)
    candidates = np.flatnonzero((lengths > 0) & (lengths < window))
    if not candidates.size:
        return result
    words = window_codes[candidates][:, ::-1]  # the window in text order
    length = lengths[candidates]
    used = np.arange(window)[::-1] < length[:, None]  # the last ``length`` columns
    ascii_word = ~(used & (words >= 0x80)).any(axis=1)
    upper = (words >= ord("A")) & (words <= ord("Z"))
    lower = np.where(used, words | (upper * 0x20), 0).astype(np.uint64)
    shift = (np.arange(window)[None, :] - (window - length[:, None])) * 8
    keys = (lower << np.maximum(shift, 0).astype(np.uint64)).sum(axis=1, dtype=np.uint64)
    single_capital = (length == 1) & upper[:, -1]
    result[candidates] = ascii_word & (np.isin(keys, _abbreviation_keys()) | single_capital)
    for index in np.flatnonzero(~ascii_word).tolist():
        dot = int(dots[candidates[index]])
        text = codes[dot - int(length[index]) : dot + 1].tobytes().decode("utf-32-le", "surrogatepass")
        result[candidates[index]] = _is_abbreviation(text, len(text) - 1)
    return result


def batch_passage_spans(articles: list[str]) -> tuple[np.ndarray, np.ndarray, list[list[PassageSpan]]]:
    """:func:`passage_spans` of many articles, with sentence ends found for all of them at once.

    Also returns the code points of the articles joined by a separator and where each article
    starts in them, for the caller to analyze the same text.
    """
    codes = code_points(_ARTICLE_SEPARATOR.join(articles) + _ARTICLE_SEPARATOR)
    article_starts = np.cumsum([0, *(len(a) + 1 for a in articles)], dtype=np.int64)[:-1]
    paragraphs = [_paragraph_spans(a) for a in articles]
    per_article = np.fromiter(map(len, paragraphs), np.int64, len(articles))
    offsets = np.repeat(article_starts, per_article)  # of each paragraph's article
    flat = np.fromiter(itertools.chain.from_iterable(itertools.chain.from_iterable(paragraphs)), np.int64)
    flat = flat.reshape(-1, 2) + offsets[:, None]
    sentence_starts, sentence_ends, counts = _paragraph_sentences(codes, flat[:, 0], flat[:, 1])
    shift = np.repeat(offsets, counts)
    pairs = list(zip((sentence_starts - shift).tolist(), (sentence_ends - shift).tolist(), strict=True))
    bounds = [0, *itertools.accumulate(counts.tolist())]
    out: list[list[PassageSpan]] = []
    first = 0
    for article, spans in zip(articles, paragraphs, strict=True):
        last = first + len(spans)
        out.append(_assemble(article, spans, [pairs[bounds[i] : bounds[i + 1]] for i in range(first, last)]))
        first = last
    return codes, article_starts, out


def passage_spans(article: str) -> list[PassageSpan]:
    """``(start, end, sentences)`` of each passage of ``article``, all offsets into the article.

    What :func:`cut_passages` returns, without the text copies.
    """
    return batch_passage_spans([article])[2][0]


def _assemble(article: str, paragraphs: list[Span], sentences_of: list[list[Span]]) -> list[PassageSpan]:
    """Passages from the article's paragraphs and each paragraph's sentences."""
    # Units are (start, end, sentences) ranges; headings join the paragraph after them.
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
        paragraph_sentences = _without_inline_headings(article, sentences_of[index])
        if pending_heading is not None:
            p_start = pending_heading[0]
            paragraph_sentences = pending_heading[1] + paragraph_sentences
            pending_heading = None
        units.append((p_start, p_end, paragraph_sentences))

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
