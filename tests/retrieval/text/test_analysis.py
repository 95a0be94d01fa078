"""The analyzer: one tokenization for passages and questions, saved and reloaded with a snapshot."""

from __future__ import annotations

import json

from retrieval.text.analysis import Analyzer


def test_terms_are_case_folded_stemmed_and_without_stop_words() -> None:
    assert Analyzer().terms("Which TEAMS represented the AFC?") == ["team", "repres", "afc"]


def test_unicode_words_and_numbers_are_tokens() -> None:
    terms = Analyzer().terms("Kyiv’s café opened in 1992 — Київ")
    assert terms == ["kyiv", "café", "open", "1992", "київ"]


def test_spans_point_at_the_surface_words() -> None:
    text = "The Normans' armies conquered England."
    spans = Analyzer().terms_with_spans(text)
    assert [text[s:e] for _, s, e in spans] == ["Normans", "armies", "conquered", "England"]
    assert [stem for stem, _, _ in spans] == Analyzer().terms(text)


def test_words_with_terms_pair_each_surface_word_with_its_stem_and_span() -> None:
    text = "The Normans’ armies Conquered England's ports."
    analyzer = Analyzer()
    kept = analyzer.words_with_terms(text)
    assert [w for w, _, _, _ in kept] == analyzer.surface_words(text)
    assert [(t, s, e) for _, t, s, e in kept] == analyzer.terms_with_spans(text)
    assert kept[2][:2] == ("conquered", "conquer")


def test_stop_word_only_and_empty_text_give_no_terms() -> None:
    assert Analyzer().terms("What is it that they were?") == []
    assert Analyzer().terms("") == []
    assert Analyzer().terms("  ...  ") == []


def test_index_terms_add_the_title_as_configured() -> None:
    assert Analyzer(title_weight=0).index_terms("Oxygen", "It burns.") == ["burn"]
    assert Analyzer(title_weight=2).index_terms("Oxygen", "It burns.") == ["burn", "oxygen", "oxygen"]


def test_settings_round_trip_through_json() -> None:
    analyzer = Analyzer(title_weight=3, min_token_chars=2)
    restored = Analyzer.from_dict(json.loads(json.dumps(analyzer.to_dict())))
    assert restored == analyzer
    assert restored.terms("A cat, 7 dogs") == analyzer.terms("A cat, 7 dogs") == ["cat", "dog"]


def test_default_analyzer_is_production_and_differs_from_custom() -> None:
    assert Analyzer() == Analyzer.from_dict(Analyzer().to_dict())
    assert Analyzer() != Analyzer(stop_words=())


def test_match_spans_equal_filtered_terms_with_spans() -> None:
    analyzer = Analyzer()
    text = "The armies' generals ran; running armies RUN past Kyiv’s gates, don't they? Gates opened."
    for question in ("Which army runs?", "gate open", "Kyiv", "don't", "nothing here"):
        stems = frozenset(analyzer.terms(question))
        expected = [(s, e) for stem, s, e in analyzer.terms_with_spans(text) if stem in stems]
        assert analyzer.match_spans(text, stems) == expected
    assert analyzer.match_spans(text, frozenset()) == []
