"""The answering service: answer line, paged quotes, honest no-match, suggestions, thread safety.

The snapshot and searcher here are small in-memory fakes with the real analyzer, so these tests
check the service's own decisions; the CLI tests run the real retrieval stack end to end.
"""

from __future__ import annotations

import math
import tempfile
import threading
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bot.answer import MAX_PAGE, Answer, Answerer
from retrieval.index.spelling import SpellingIndex, write_spelling_index
from retrieval.search.answer_line import ANSWER_TYPE_BONUS, answer_line
from retrieval.search.hit import Hit
from retrieval.text.analysis import Analyzer
from retrieval.text.passages import sentence_spans

PASSAGES = [
    (
        "CSTO",
        "Collective Security Treaty Organization",
        "The Collective Security Treaty was signed on May 15, 1992, in Tashkent. Armenia, Kazakhstan, "
        "Kyrgyzstan, Russia, Tajikistan and Uzbekistan signed it.",
    ),
    (
        "CSTO",
        "Collective Security Treaty Organization",
        "The organization has its headquarters in Moscow. Its members hold joint military exercises.",
    ),
    (
        "NATO",
        "North Atlantic Treaty Organization",
        "The North Atlantic Treaty was signed in Washington on April 4, 1949.",
    ),
    ("Armenia", "Armenia", "Armenia is a country in the South Caucasus. Its capital is Yerevan."),
    ("Kazakhstan", "Kazakhstan", "Kazakhstan is the largest landlocked country. Its capital is Astana."),
    ("Tashkent", "Tashkent", "Tashkent is the capital of Uzbekistan, where the treaty was signed."),
    ("Moscow", "Moscow", "Moscow hosts the headquarters of several treaty organizations."),
]


class FakeSnapshot:
    def __init__(self, passages=PASSAGES, version="v1"):
        self.analyzer = Analyzer()
        self.rows = passages
        self.info = SimpleNamespace(version=version)
        df: Counter[str] = Counter()
        self.words: Counter[str] = Counter()
        for _, title, text in passages:
            df.update(set(self.analyzer.index_terms(title, text)))
            self.words.update(self.analyzer.surface_words(f"{title} {text}"))
        vocab = {term: i for i, term in enumerate(df)}
        self._spelling_dir = tempfile.TemporaryDirectory()  # removed with the fake
        write_spelling_index(self.words.items(), Path(self._spelling_dir.name))
        self.spelling = SpellingIndex(Path(self._spelling_dir.name))
        n = len(passages)
        idf = np.array([math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in df])
        self.index = SimpleNamespace(vocab=vocab, idf=idf, max_idf=float(idf.max()))


class FakeSearcher:
    """Ranks by summed idf of question terms in text and title; one hit per passage."""

    def __init__(self, snapshot: FakeSnapshot):
        self.snapshot = snapshot
        self.calls = 0
        self.supports: list[str] = []

    def search(self, question, k=10, *, per_article=None, asked=None):
        self.calls += 1
        snap = self.snapshot
        wanted = set(snap.analyzer.terms(question))
        scored = []
        for pid, (_, title, text) in enumerate(snap.rows):
            terms = set(snap.analyzer.index_terms(title, text)) & wanted
            score = sum(snap.index.idf[snap.index.vocab[t]] for t in terms)
            if score > 0:
                scored.append((score, pid))
        scored.sort(key=lambda item: (-item[0], item[1]))
        hits = []
        for score, pid in scored[:k]:
            article_id, title, text = snap.rows[pid]
            spans = tuple((s, e) for t, s, e in snap.analyzer.terms_with_spans(text) if t in wanted)
            link = f"https://uk.wikipedia.org/wiki/{article_id}"
            hits.append(
                Hit(
                    pid,
                    article_id,
                    title,
                    link,
                    text,
                    float(score),
                    spans,
                    tuple(sentence_spans(text)),
                    0,
                    len(text),
                )
            )
        return hits

    def answer_line(self, question, hits, *, type_bonus=ANSWER_TYPE_BONUS):
        return answer_line(question, hits, analyzer=self.snapshot.analyzer, type_bonus=type_bonus)

    def semantic_support(self, question):
        """A lexical-only searcher has none; asking is recorded."""
        self.supports.append(question)
        return None


def answerer(snapshot=None, **options) -> Answerer:
    return Answerer(snapshot or FakeSnapshot(), make_searcher=FakeSearcher, **options)


def test_semantic_support_is_asked_only_of_a_question_its_best_passage_holds_too_little_of(
    monkeypatch: pytest.MonkeyPatch,
):
    """It costs the question's vector and a nearest-neighbour search; a well-held question is
    answered without it, a poorly held one is judged on it (lexically: the coverage rule)."""
    service = answerer()
    monkeypatch.setattr(service, "_nearby_questions", lambda *args: ())  # reads real passages
    service.answer("When was the Collective Security Treaty signed?")
    searcher = service._searcher_for(service.snapshot())
    assert searcher.supports == []
    refused = service.answer("Which treaty did the penguins of Antarctica sign?")
    assert refused.no_match and searcher.supports == ["Which treaty did the penguins of Antarctica sign?"]


def test_answers_with_the_sentence_and_quotes_with_links_and_marked_terms():
    answer = answerer().answer("When was the Collective Security Treaty signed?")
    assert not answer.no_match
    assert answer.answer == "The Collective Security Treaty was signed on May 15, 1992, in Tashkent."
    assert 1 <= len(answer.quotes) <= 3
    first = answer.quotes[0]
    assert first.article_id == "CSTO"
    assert first.link == "https://uk.wikipedia.org/wiki/CSTO"
    marked = {first.text[s:e].casefold() for s, e in first.spans}
    assert {"collective", "security", "treaty", "signed"} <= marked
    assert answer.snapshot_version == "v1"
    assert answer.page == 1 and answer.took_ms > 0


def test_pages_show_further_quotes_without_repeating_any():
    service = answerer(quotes_per_page=2)
    pages = [service.answer("treaty signed capital", page=n) for n in (1, 2, 3, 4)]
    seen = [(q.article_id, q.text) for page in pages for q in page.quotes]
    assert len(seen) == len(set(seen)) == 7
    assert [len(p.quotes) for p in pages] == [2, 2, 2, 1]
    assert [p.has_more for p in pages] == [True, True, True, False]
    assert pages[1].answer == pages[0].answer  # the answer line belongs to the question
    assert pages[1].extra["first_quote"] == 3
    beyond = service.answer("treaty signed capital", page=5)
    assert beyond.quotes == () and not beyond.has_more and not beyond.no_match


def test_page_is_clamped_to_the_valid_range():
    service = answerer()
    assert service.answer("treaty", page=0).page == 1
    assert service.answer("treaty", page=10_000).page == MAX_PAGE


def test_unrelated_question_is_an_honest_no_match():
    answer = answerer().answer("What is the boiling point of liquid nitrogen?")
    assert answer.no_match
    assert answer.answer is None and answer.quotes == () and not answer.has_more


def test_one_common_word_is_not_enough_evidence():
    answer = answerer().answer("Which volcano erupted near the capital in 1783?")
    assert answer.no_match


def test_misspelled_question_gets_a_corrected_suggestion():
    answer = answerer().answer("When was the Colective Securty Treaty signed?")
    assert answer.suggestions[0] == "When was the Collective Security Treaty signed?"


def test_a_correction_that_would_still_find_nothing_is_not_suggested():
    # "Moscaw" is one edit from "Moscow", but the corrected question is still unanswerable.
    answer = answerer().answer("How many bakeries does Moscaw have in winter weather?")
    assert answer.no_match and answer.suggestions == ()


def test_known_words_get_no_suggestion():
    assert answerer().answer("When was the Collective Security Treaty signed?").suggestions == ()


@pytest.mark.parametrize("question", ["", "   ", "the of and what", "?!"])
def test_empty_or_stop_word_questions_are_no_match_not_errors(question):
    answer = answerer().answer(question)
    assert answer.no_match and answer.quotes == () and answer.suggestions == ()


def test_long_question_is_cut_and_says_so():
    service = answerer(max_question_chars=50)
    answer = service.answer("Collective Security Treaty signed " * 100)
    assert answer.truncated
    assert len(answer.question) == 50
    assert not answer.no_match
    assert not service.answer("Collective Security Treaty signed").truncated


def test_whitespace_in_the_question_is_normalized():
    assert answerer().answer("  When   was\nthe treaty\tsigned? ").question == "When was the treaty signed?"


def test_picks_up_a_new_snapshot_from_a_live_source():
    current = {"snapshot": FakeSnapshot(version="v1")}
    live = SimpleNamespace(current=lambda: current["snapshot"])
    service = Answerer(live, make_searcher=FakeSearcher)
    assert service.answer("Tashkent").snapshot_version == "v1"
    current["snapshot"] = FakeSnapshot(PASSAGES[:3], version="v2")
    answer = service.answer("Tashkent")
    assert answer.snapshot_version == "v2"
    assert {q.article_id for q in answer.quotes} == {"CSTO"}


def test_accepts_a_plain_callable_as_snapshot_source():
    snapshot = FakeSnapshot(version="v7")
    assert Answerer(lambda: snapshot, make_searcher=FakeSearcher).answer("Moscow").snapshot_version == "v7"


def test_answers_from_many_threads_at_once_consistently():
    service = answerer()
    questions = ["When was the Collective Security Treaty signed?", "capital of Uzbekistan", "Moscow"]
    expected = {q: service.answer(q) for q in questions}
    results: list[tuple[str, Answer]] = []
    errors: list[BaseException] = []

    def work(question: str) -> None:
        try:
            for _ in range(20):
                results.append((question, service.answer(question)))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(questions[i % 3],)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 240
    for question, answer in results:
        assert answer.answer == expected[question].answer
        assert answer.quotes == expected[question].quotes


def test_json_object_has_exactly_the_documented_keys():
    payload = answerer().answer("When was the Collective Security Treaty signed?").to_json()
    assert list(payload) == ["question", "answer", "no_match", "suggestions", "quotes", "took_ms"]
    assert set(payload["quotes"][0]) == {"text", "title", "article_id", "link", "score", "spans"}
    assert all(isinstance(span, list) and len(span) == 2 for span in payload["quotes"][0]["spans"])
