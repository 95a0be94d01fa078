"""The semantic stage's one encoder as wikiqa loads it: what the manifest records, unit-length
rows of the recorded width, and a question near the passage that answers it in any of the
readers' languages. (Its fidelity to the wheel's own engine is tested in ``test_e5.py``.)"""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.semantic.encoders import bulk_encoder, describe, encoder, installed, passage_input
from tests.retrieval.semantic.conftest import needs_models

pytestmark = needs_models

ANSWER = passage_input(
    "Organization of a collective security agreement",
    "On May 15, 1992, Armenia, Kazakhstan, Kyrgyzstan, Russia, Tajikistan, and Uzbekistan signed a "
    "Collective Security Treaty in Tashkent.",
)
OTHER = passage_input("Borscht", "Borscht is a sour soup made with beetroot, common in Eastern Europe.")
QUESTIONS = {
    "en": "When was the Collective Security Treaty signed?",
    "ru": "Когда был подписан Договор о коллективной безопасности?",
    "uk": "Коли було підписано Договір про колективну безпеку?",
}


def test_the_manifest_records_model_version_quantization_and_width() -> None:
    model = describe()
    assert installed()
    assert model["model"] == "multilingual-e5-small" and model["dimensions"] == 384
    assert model["quantization"] == "q4_0" and model["version"]


def test_vectors_are_unit_length_rows_of_the_recorded_width() -> None:
    width = describe()["dimensions"]
    for vectors in (encoder().queries(list(QUESTIONS.values())), bulk_encoder().passages([ANSWER, OTHER])):
        assert vectors.shape[1] == width and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder().queries([]).shape == (0, width)


@pytest.mark.parametrize("language", sorted(QUESTIONS))
def test_a_question_in_each_readers_language_is_closest_to_the_passage_that_answers_it(language: str) -> None:
    question = encoder().queries([QUESTIONS[language]])[0]
    answer, other = bulk_encoder().passages([ANSWER, OTHER])
    assert question @ answer > question @ other + 0.05


def test_questions_and_a_reindex_give_the_same_passage_vectors() -> None:
    """One thread or every core, the same arithmetic: vectors of a reindex meet questions'."""
    np.testing.assert_allclose(encoder().passages([ANSWER]), bulk_encoder().passages([ANSWER]), atol=1e-5)
