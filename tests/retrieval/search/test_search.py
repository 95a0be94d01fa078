"""The searcher on a real (small) snapshot: ranking, spans, no overlap, caps and odd questions."""

from __future__ import annotations

import random
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from retrieval.search.answer_type import asked_type, holds_type
from retrieval.search.rerank import (
    FEATURES,
    RerankParams,
    candidate_features,
    context_bm25,
    exact_word_mass,
    word_weights,
)
from retrieval.search.searcher import MAX_QUESTION_CHARS, Searcher
from retrieval.storage.records import ArticleRecord
from tests.retrieval.corpus_factory import snapshot_of

FILLER = "The valley has farms, roads and small villages along the old trade route. " * 3

ARTICLES = [
    ArticleRecord(
        "Danube",
        "Danube",
        "The Danube is the second-longest river in Europe. It flows through ten countries.\n\n"
        + FILLER
        + "\n\nThe river delta is a reserve for pelicans and other birds.",
        None,
    ),
    ArticleRecord(
        "Kyiv",
        "Kyiv",
        "Kyiv is the capital of Ukraine. It stands on the Dnieper river.\n\n"
        + FILLER
        + "\n\nThe Golden Gate of Kyiv was built in the eleventh century.",
        None,
    ),
    ArticleRecord(
        "Lviv",
        "Lviv",
        "Lviv is a city in western Ukraine, famous for its coffee houses.\n\n"
        "The old town of Lviv is a World Heritage Site with churches of many styles.",
        None,
    ),
    ArticleRecord("Empty", "Empty", "   ", None),
]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory):
    return snapshot_of(ARTICLES, tmp_path_factory.mktemp("search"), source_url="https://wiki.example/")


@pytest.fixture(scope="module")
def searcher(snapshot) -> Searcher:
    return Searcher(snapshot)


def test_best_passage_answers_the_question(searcher: Searcher) -> None:
    hits = searcher.search("Which river flows through ten countries?", k=3)
    assert hits[0].article_id == "Danube"
    assert "ten countries" in hits[0].text
    assert hits[0].title == "Danube"
    assert hits[0].link.startswith("https://wiki.example/")
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_spans_cover_the_matched_words(searcher: Searcher) -> None:
    hit = searcher.search("When was the Golden Gate built?", k=1)[0]
    marked = [hit.text[s:e] for s, e in hit.spans]
    assert {"Golden", "Gate", "built"} <= set(marked)
    assert all(word.casefold() not in {"when", "was", "the"} for word in marked)


def test_sentences_and_offsets_locate_the_quote(searcher: Searcher) -> None:
    hit = searcher.search("pelicans delta", k=1)[0]
    article = next(a.article for a in ARTICLES if a.article_id == hit.article_id)
    assert article[hit.start : hit.end] == hit.text
    assert all(0 <= s < e <= len(hit.text) for s, e in hit.sentences)


def test_title_takes_part_in_matching(searcher: Searcher) -> None:
    # "pelicans" is only in the Danube body; "Danube" is in its title and first passage only.
    hits = searcher.search("Danube pelicans", k=1)
    assert "pelicans" in hits[0].text


def test_no_two_hits_quote_overlapping_text(searcher: Searcher) -> None:
    hits = searcher.search("river valley farms Kyiv Ukraine Lviv city old", k=20)
    assert len(hits) >= 2, "nothing to compare: the search found fewer than two hits"
    assert len({h.passage_id for h in hits}) == len(hits)
    for i, a in enumerate(hits):
        for b in hits[i + 1 :]:
            assert a.article_id != b.article_id or a.end <= b.start or b.end <= a.start


def test_per_article_cap(searcher: Searcher) -> None:
    hits = searcher.search("river valley farms Kyiv Ukraine Lviv city old", k=20, per_article=1)
    ids = [h.article_id for h in hits]
    assert len(ids) == len(set(ids)) >= 2


@pytest.mark.parametrize("question", ["", "   ", "what is the?", "zzzqqq xyzzy", "!!! ???"])
def test_questions_without_usable_terms_give_no_hits(searcher: Searcher, question: str) -> None:
    assert searcher.search(question) == []


def test_ten_thousand_character_question_is_cut_and_answered(searcher: Searcher) -> None:
    question = "Where do pelicans live? " + "x" * 10_000
    hits = searcher.search(question, k=2)
    assert hits and "pelicans" in hits[0].text
    # Terms past the cut do not count, in the search or in the answer line.
    assert searcher.search("x" * MAX_QUESTION_CHARS + " pelicans") == []
    cut = question[:MAX_QUESTION_CHARS]
    assert searcher.search(question + " Kyiv capital", k=2) == searcher.search(cut, k=2) == hits
    assert searcher.answer_line(question + " Kyiv capital", hits) == searcher.answer_line(cut, hits)


def test_k_zero_or_negative_gives_nothing(searcher: Searcher) -> None:
    assert searcher.search("Kyiv", k=0) == []


def test_longer_pages_extend_the_same_ranking(searcher: Searcher) -> None:
    question = "river city Ukraine old"
    first = searcher.search(question, k=3)
    longer = searcher.search(question, k=30)
    assert [h.passage_id for h in longer[:3]] == [h.passage_id for h in first]
    assert len(longer) >= len(first)


def test_without_reranking_order_is_bm25(snapshot) -> None:
    plain = Searcher(
        snapshot, rerank=RerankParams(**{name: 0.0 for name in FEATURES if name != "bm25"}, answer_type=0)
    )
    ids = plain._query("river city Ukraine").ids
    pids, _ = snapshot.index.first_stage(ids, 5)
    assert [h.passage_id for h in plain.search("river city Ukraine", k=5)] == [
        int(p) for p in np.asarray(pids)
    ]


class Tokens:
    """Token arrays of hand-made passages: each passage is a list of sentences of term ids."""

    def __init__(self, passages: list[list[list[int]]]) -> None:
        self.tokens = [np.array([t for s in p for t in s], dtype=np.int32) for p in passages]
        self.starts = [np.cumsum([0] + [len(s) for s in p[:-1]]).astype(np.int32) for p in passages]

    def joined_tokens(self, pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _joined([self.tokens[pid] for pid in pids])

    def sentences_token_starts(self, pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _joined([self.starts[pid] for pid in pids])


def _joined(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate(arrays) if arrays else np.zeros(0, np.int32), np.array([len(a) for a in arrays])


def _features(passages: list[list[list[int]]], query: list[int], **weights: float) -> np.ndarray:
    params = RerankParams(**({name: 0.0 for name in FEATURES if name != "bm25"} | weights))
    return candidate_features(
        Tokens(passages),
        np.arange(len(passages)),
        np.ones(len(passages)),
        np.array(query),
        np.ones(len(query)),
        params,
    )


def test_sentence_feature_prefers_terms_together_in_one_sentence() -> None:
    together = [[1, 2, 3, 9], [9, 9]]
    scattered = [[1, 9], [2, 9], [3, 9]]
    f = _features([together, scattered], [1, 2, 3], sentence=1.0, pair=1.0, coverage=1.0)
    column = {name: i for i, name in enumerate(FEATURES)}
    assert f[0, column["sentence"]] == pytest.approx(1.0)
    assert f[1, column["sentence"]] == pytest.approx(1 / 3)
    assert f[1, column["pair"]] == pytest.approx(2 / 3)
    assert f[0, column["coverage"]] == f[1, column["coverage"]] == pytest.approx(1.0)


def test_a_passage_without_recorded_sentences_is_one_sentence() -> None:
    passages = [[[1, 2, 9], [3, 9]], [[1, 2, 9], [3, 9]], [[3, 9]]]
    tokens = Tokens(passages)
    tokens.starts[1] = np.zeros(0, dtype=np.int32)
    params = RerankParams(**{name: 1.0 for name in FEATURES}, answer_type=0)
    f = candidate_features(tokens, np.arange(3), np.ones(3), np.array([1, 2, 3]), np.ones(3), params)
    column = {name: i for i, name in enumerate(FEATURES)}
    assert f[0, column["sentence"]] == pytest.approx(2 / 3)
    assert f[1, column["sentence"]] == pytest.approx(1.0)
    assert f[2, column["sentence"]] == pytest.approx(1 / 3)
    assert f[0, column["pair"]] == f[1, column["pair"]] == pytest.approx(1.0)


def test_proximity_and_bigrams_count_each_pair_once() -> None:
    repeated = [[1, 2, 1, 2, 1, 2]]
    once = [[1, 2, 9, 9, 9, 9]]
    reversed_order = [[2, 1, 9, 9, 9, 9]]
    f = _features([repeated, once, reversed_order], [1, 2], proximity=1.0, bigram=1.0)
    column = {name: i for i, name in enumerate(FEATURES)}
    assert f[0, column["proximity"]] == f[1, column["proximity"]] > 0
    assert f[0, column["bigram"]] == f[1, column["bigram"]] > 0
    assert f[2, column["bigram"]] == 0
    assert f[2, column["proximity"]] == f[1, column["proximity"]]


def test_unmatched_candidates_have_zero_features() -> None:
    f = _features([[[7, 8]], [[]]], [1, 2], sentence=1.0, coverage=1.0, proximity=1.0, local=1.0)
    assert f[:, 1:].sum() == 0
    assert list(f[:, 0]) == [1.0, 1.0]


class ArticleTokens:
    """Passages as token lists, in article order, with the article each belongs to."""

    avgdl = 4.0

    def __init__(self, passages: list[list[int]], articles: list[int]) -> None:
        self.tokens = [np.array(p, dtype=np.int32) for p in passages]
        self.articles = articles

    def __len__(self) -> int:
        return len(self.tokens)

    def joined_tokens(self, pids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _joined([self.tokens[pid] for pid in pids])

    def article_indexes(self, pids: np.ndarray) -> np.ndarray:
        return np.asarray(self.articles)[pids]

    def doc_lengths(self) -> np.ndarray:
        return np.array([len(t) for t in self.tokens])


def test_context_counts_neighbours_of_the_same_article_only() -> None:
    # Passages 1 and 3 both hold term 2; only passage 1 has a neighbour (0) holding term 1.
    # Passage 4 holds term 1 but starts another article, so it is not passage 3's context.
    source = ArticleTokens(
        [[1, 9, 9, 9], [2, 9, 9, 9], [9, 9, 9, 9], [2, 9, 9, 9], [1, 9, 9, 9]], [0, 0, 0, 0, 1]
    )
    scores = context_bm25(source, np.array([1, 3]), np.array([1, 2]), np.ones(2), k1=1.2, b=0.75)
    assert scores[0] > scores[1] > 0
    alone = ArticleTokens([[2, 9, 9, 9], [1, 9, 9, 9]], [0, 1])
    only_own = context_bm25(alone, np.array([0]), np.array([1, 2]), np.ones(2), k1=1.2, b=0.75)
    assert only_own[0] == pytest.approx(scores[1])


def test_exact_words_count_whole_words_once_whatever_the_case() -> None:
    weights = {"signed": 2.0, "treaty": 1.0, "luther": 0.5}
    texts = [
        "The Treaty was SIGNED; the treaty was signed again.",
        "Signing the treaties was the plan.",
        "Luther’s theses.",
        "",
    ]
    assert exact_word_mass(texts, weights).tolist() == [3.0, 0.0, 0.5, 0.0]
    assert exact_word_mass(texts, {}).tolist() == [0.0] * 4


def _whole_word_pattern_mass(texts: list[str], weights: dict[str, float]) -> list[float]:
    """The plain definition of the exact feature: one ``\\b(?:w1|w2|…)\\b`` pattern per text."""
    alternatives = "|".join(re.escape(w) for w in sorted(weights, key=len, reverse=True))
    pattern = re.compile(rf"\b(?:{alternatives})\b")
    return [sum(weights[w] for w in set(pattern.findall(t.casefold().replace("’", "'")))) for t in texts]


@pytest.mark.parametrize(
    "weights",
    [
        {"strasse": 1.0, "σοφοσ": 2.0, "café": 4.0, "x_1": 8.0, "2011": 16.0, "neill": 32.0},
        {"o'neill": 1.0, "neill": 2.0, "don't": 4.0, "rock": 8.0},
        {"i̇stanbul": 1.0, "istanbul": 2.0, "signed": 4.0},
    ],
)
def test_exact_words_are_what_one_whole_word_pattern_finds(weights: dict[str, float]) -> None:
    texts = [
        "Straße, STRASSE and strasse-side; ΣΟΦΟΣ σοφος.",
        "Café cafés CAFÉ_ x_1 x_12 _x_1 2011th 2011. 20112011",
        "O’Neill and O'Neill met Neill; don’t rock'n'roll, rock.",
        "İstanbul istanbul signed-off unsigned signed",
        "neillneill oneill o' neill",
        "",
    ]
    assert exact_word_mass(texts, weights).tolist() == _whole_word_pattern_mass(texts, weights)


def test_exact_words_match_the_whole_word_pattern_on_random_texts() -> None:
    rng = random.Random(7)
    alphabet = "ab_1é Σσß'’-.\n"
    for _ in range(200):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))) for _ in range(4)]
        words = {"".join(rng.choice("ab1éσ_") for _ in range(rng.randrange(1, 3))) for _ in range(3)}
        weights = {word: float(2**i) for i, word in enumerate(sorted(words))}
        assert exact_word_mass(texts, weights).tolist() == _whole_word_pattern_mass(texts, weights), texts


def test_exact_feature_prefers_the_question_s_own_word_forms(tmp_path) -> None:
    pacts = [
        ArticleRecord("P1", "Pact", "Signing of the pact by four states in Tashkent.", None),
        ArticleRecord("P2", "Pact", "The pact was signed by four states in Tashkent.", None),
    ]
    only = {name: 0.0 for name in FEATURES if name not in ("bm25", "exact")}
    searcher = Searcher(snapshot_of(pacts, tmp_path), rerank=RerankParams(**only, answer_type=0))
    assert [h.article_id for h in searcher.search("Where was the pact signed?", k=2)] == ["P2", "P1"]
    assert [h.article_id for h in searcher.search("Where was the pact signing?", k=2)] == ["P1", "P2"]


def test_question_forms_of_one_stem_share_its_weight(searcher: Searcher) -> None:
    words = searcher._query("Signed or signing the treaty?").words
    assert word_weights(words, {"treati": 1.0, "sign": 2.0}) == {
        "treaty": 1.0,
        "signed": 1.0,
        "signing": 1.0,
    }


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many people live in Kyiv?", "number"),
        ("When was the treaty signed?", "date"),
        ("In what year did it open?", "date"),
        ("Who founded the city?", "person"),
        ("Why is the sky blue?", None),
    ],
)
def test_asked_type_is_read_from_the_question(question: str, kind: str | None) -> None:
    assert asked_type(question) == kind


def test_holds_type_needs_a_new_name_for_who_questions() -> None:
    assert holds_type("number", "About 3 million people.", set())
    assert holds_type("date", "It was signed in May 1992.", set())
    assert not holds_type("date", "It was signed later.", set())
    assert not holds_type("person", "Kyiv was founded.", {"kyiv", "founded"})
    assert holds_type("person", "Kyiv was founded by Kyi.", {"kyiv", "founded"})


def test_shared_searcher_answers_from_several_threads(snapshot) -> None:
    shared = Searcher(snapshot, cache_size=2)
    questions = ["river", "Kyiv capital", "Lviv coffee", "pelicans", "Golden Gate"] * 8
    expected = {q: [h.passage_id for h in Searcher(snapshot).search(q, k=3)] for q in set(questions)}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda q: (q, [h.passage_id for h in shared.search(q, k=3)]), questions))
    assert all(expected[q] == got for q, got in results)
