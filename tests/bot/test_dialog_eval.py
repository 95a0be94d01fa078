"""``wikiqa eval dialogs.jsonl``: dialogs replayed through the chat's conversation code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.answer import Answerer
from bot.cli import cli
from bot.dialog_eval import evaluate_dialogs, is_dialogs_file, load_dialogs, paragraph_bounds
from retrieval.errors import SourceError
from retrieval.index.build import build_snapshot
from retrieval.index.publish import load_snapshot
from retrieval.storage.articles import ArticleStore
from retrieval.storage.records import ArticleRecord

ARTICLES = [
    {
        "article_id": "Shanghai_Cooperation_Organisation",
        "title": "Shanghai Cooperation Organisation",
        "article": "The Shanghai Cooperation Organisation is a Eurasian political and security organisation."
        "\n\nThe organisation was founded in Shanghai on June 15, 2001 by six states.",
    },
    {
        "article_id": "Kyiv",
        "title": "Kyiv",
        "article": "Kyiv is the capital of Ukraine on the Dnipro river."
        "\n\nThe traditional founding date of the city is 482, when it was founded by Kyi.",
    },
]


def _turn(number: int, question: str, gold: list[tuple[str, int]]) -> dict:
    return {
        "turn": number,
        "question": question,
        "answerable": bool(gold),
        "gold": [{"article_id": a, "paragraph_index": i} for a, i in gold],
    }


DIALOGS = [
    {
        "dialog_id": "sco",
        "turns": [
            _turn(
                1,
                "What is the Shanghai Cooperation Organisation?",
                [("Shanghai_Cooperation_Organisation", 0)],
            ),
            _turn(2, "When was it founded?", [("Shanghai_Cooperation_Organisation", 1)]),
            _turn(3, "How do I bake sourdough bread?", []),
        ],
    },
    {"dialog_id": "kyiv", "turns": [_turn(1, "When was Kyiv founded?", [("Kyiv", 1)])]},
]


@pytest.fixture(scope="module")
def dialog_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("dialog-home")
    (home / "articles.jsonl").write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    (home / "dialogs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DIALOGS), encoding="utf-8")
    store = ArticleStore(f"sqlite:///{home / 'wikiqa.db'}")
    store.upsert(
        (ArticleRecord(a["article_id"], a["title"], a["article"], "") for a in ARTICLES), source="test"
    )
    build_snapshot(store, home / "snapshots", source_url="https://en.wikipedia.org/wiki/{article_id}")
    store.close()
    return home


def test_dialog_files_are_told_from_question_files_by_their_keys(dialog_home, tmp_path):
    squad = tmp_path / "questions.jsonl"
    squad.write_text(json.dumps({"question": "q", "answers": ["a"], "article_id": "x"}) + "\n")
    assert is_dialogs_file(dialog_home / "dialogs.jsonl")
    assert not is_dialogs_file(squad)


def test_a_follow_up_scores_only_as_a_conversation(dialog_home):
    answerer = Answerer(load_snapshot(dialog_home / "snapshots"))
    dialogs = load_dialogs(dialog_home / "dialogs.jsonl")
    bounds = paragraph_bounds(dialog_home / "articles.jsonl")
    together, rows = evaluate_dialogs(answerer, dialogs, bounds, quotes=1)
    alone, _ = evaluate_dialogs(answerer, dialogs, bounds, quotes=1, conversation=False)
    assert together["answerable"] == 3 and together["pronoun_follow_ups"] == 1
    assert together["hit@1_pronoun"] == 1.0 and alone["hit@1_pronoun"] == 0.0
    assert together["hit@1"] == 1.0
    assert rows[1]["about"] == "Shanghai Cooperation Organisation"


def test_a_refused_answerable_turn_counts_as_a_miss(dialog_home, tmp_path):
    dialogs = tmp_path / "dialogs.jsonl"
    dialogs.write_text(
        json.dumps({"dialog_id": "x", "turns": [_turn(1, "Who won the 1966 World Cup?", [("Kyiv", 0)])]})
    )
    answerer = Answerer(load_snapshot(dialog_home / "snapshots"))
    summary, rows = evaluate_dialogs(
        answerer, load_dialogs(dialogs), paragraph_bounds(dialog_home / "articles.jsonl")
    )
    assert rows[0]["no_match"] and summary["hit@5"] == 0.0 and summary["no_match_answerable"] == 1


def test_wikiqa_eval_replays_dialogs_and_prints_json(dialog_home, monkeypatch):
    monkeypatch.setenv("WIKIQA_HOME", str(dialog_home))
    result = CliRunner().invoke(cli, ["eval", str(dialog_home / "dialogs.jsonl"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["dialogs"] == 2 and summary["turns"] == 4 and summary["conversation"] is True
    assert summary["hit@5_pronoun"] == 1.0
    plain = CliRunner().invoke(cli, ["eval", str(dialog_home / "dialogs.jsonl"), "--alone"])
    assert plain.exit_code == 0 and "pronoun follow-ups" in plain.stdout


@pytest.mark.eval
def test_inscit_dialogs_are_answered_better_as_conversations(eval_dir: Path, tmp_path_factory):
    """The issue's targets, lexical snapshot: hit@5 >= 0.80 over answerable turns, >= 0.70 over
    follow-ups with a pronoun, and no turn answered alone lost (measured 0.815 and 0.706)."""
    folder = tmp_path_factory.mktemp("inscit")
    store = ArticleStore(f"sqlite:///{folder / 'store.db'}")
    articles = eval_dir / "inscit" / "articles.jsonl"
    with articles.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    store.upsert(
        (ArticleRecord(r["article_id"], r["title"], r["article"], "") for r in rows), source="inscit"
    )
    build_snapshot(store, folder / "snapshots", source_url="https://en.wikipedia.org/wiki/{article_id}")
    store.close()
    answerer = Answerer(load_snapshot(folder / "snapshots"))
    dialogs = load_dialogs(eval_dir / "inscit" / "dialogs.jsonl")
    bounds = paragraph_bounds(articles)
    together, with_context = evaluate_dialogs(answerer, dialogs, bounds)
    _, alone = evaluate_dialogs(answerer, dialogs, bounds, conversation=False)
    assert together["hit@5"] >= 0.80
    assert together["hit@5_pronoun"] >= 0.70
    lost = [
        c["question"]
        for a, c in zip(alone, with_context, strict=True)
        if a["answerable"] and a["rank"] is not None and a["rank"] <= 5 and not (c["rank"] and c["rank"] <= 5)
    ]
    assert lost == []


def test_a_line_that_is_not_a_dialog_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "dialogs.jsonl"
    path.write_text('{"dialog_id": "a", "turns": []}\n{"dialog_id": "b", "turns": [{"turn": 1}]}\n')
    with pytest.raises(SourceError, match=r"dialogs\.jsonl, line 2: not a dialog \('question'\)"):
        load_dialogs(path)
