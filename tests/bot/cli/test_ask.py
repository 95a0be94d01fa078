"""``wikiqa ask`` end to end on the bundled sample corpus: real ingest, snapshot and search."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli

QUESTION = "When was the Collective Security Treaty signed?"
JSON_KEYS = ["question", "answer", "no_match", "suggestions", "quotes", "took_ms"]
QUOTE_KEYS = {"text", "title", "article_id", "link", "score", "spans"}
WIKIQA = Path(sys.executable).with_name("wikiqa")


def ask(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["ask", *args], input=stdin)


def test_first_ask_on_an_empty_store_builds_the_index_and_says_so_in_one_line():
    first = ask(QUESTION)
    assert first.exit_code == 0, first.output
    lines = first.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("First run:") and "done" in lines[0]
    assert "1992" in first.stdout
    second = ask(QUESTION)
    assert second.exit_code == 0
    assert second.stderr == ""
    assert second.stdout == first.stdout


def test_first_questions_asked_at_once_on_an_empty_home_all_wait_for_the_one_build() -> None:
    """The first builds; the others wait for its index instead of saying "run wikiqa reindex"."""
    command = [str(WIKIQA), "ask", QUESTION]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    asking = [subprocess.Popen(command, **pipes) for _ in range(3)]
    outputs = [process.communicate(timeout=300) for process in asking]
    results = [(process.returncode, out, err) for process, (out, err) in zip(asking, outputs, strict=True)]
    assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    assert all("1992" in out for _, out, _ in results)
    assert sum(err.startswith("First run:") for _, _, err in results) == 1


def test_answers_the_readme_question_with_may_15_1992(ready):
    result = ask("When", "was", "the", "Collective", "Security", "Treaty", "signed?")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Answer: ")
    answer_line = result.stdout.splitlines()[0]
    assert "May 15, 1992" in answer_line
    assert "https://uk.wikipedia.org/wiki/" in result.stdout
    assert "\x1b[" not in result.stdout  # piped: plain text


def test_words_form_one_question_quoted_or_not(ready):
    quoted = json.loads(ask("--json", QUESTION).stdout)
    unquoted = json.loads(ask("--json", *QUESTION.split()).stdout)
    quoted.pop("took_ms"), unquoted.pop("took_ms")
    assert quoted == unquoted
    assert quoted["question"] == QUESTION


def test_json_has_exactly_the_documented_keys(ready):
    result = ask("--json", QUESTION)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    payload = json.loads(lines[0])
    assert list(payload) == JSON_KEYS
    assert payload["no_match"] is False
    assert "May 15, 1992" in payload["answer"]
    assert 1 <= len(payload["quotes"]) <= 3
    assert all(set(q) == QUOTE_KEYS for q in payload["quotes"])
    quote = payload["quotes"][0]
    assert quote["link"].startswith("https://uk.wikipedia.org/wiki/")
    for start, end in quote["spans"]:
        assert quote["text"][start:end].strip()
    assert isinstance(payload["took_ms"], float) and payload["took_ms"] > 0


def test_k_sets_the_number_of_quotes(ready):
    one = json.loads(ask("--json", "-k", "1", QUESTION).stdout)
    five = json.loads(ask("--json", "-k", "5", QUESTION).stdout)
    assert len(one["quotes"]) == 1
    assert len(five["quotes"]) == 5
    assert five["quotes"][0] == one["quotes"][0]


def test_dash_reads_one_question_per_line_from_stdin(ready):
    questions = [QUESTION, "", "What is the boiling point of liquid nitrogen on Neptune?", "Tashkent"]
    result = ask("--json", "-", stdin="\n".join(questions) + "\n")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in answers] == [q for q in questions if q]


def test_unrelated_question_is_no_match_with_null_answer(ready):
    payload = json.loads(ask("--json", "What is the boiling point of liquid nitrogen on Neptune?").stdout)
    assert payload["no_match"] is True
    assert payload["answer"] is None
    assert payload["quotes"] == []


def test_misspelled_question_suggests_a_correction(ready):
    payload = json.loads(ask("--json", "When was the Colective Securty Treety signed?").stdout)
    assert "Collective Security Treaty" in payload["suggestions"][0]


def test_empty_question_is_a_usage_error_before_any_first_run_work(isolated_home):
    assert ask("  ").exit_code == 2
    assert ask().exit_code == 2
    assert not (isolated_home / "snapshots").exists()


def test_page_two_shows_further_quotes(ready):
    first = json.loads(ask("--json", QUESTION).stdout)
    second = json.loads(ask("--json", "--page", "2", QUESTION).stdout)
    assert second["quotes"]
    assert not {q["text"] for q in first["quotes"]} & {q["text"] for q in second["quotes"]}


def test_unreachable_database_is_one_sentence_and_exit_code_1(tmp_path):
    env = {
        "WIKIQA_HOME": str(tmp_path),
        "WIKIQA_DATABASE_URL": "mysql+pymysql://nobody@127.0.0.1:1/none",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run([str(WIKIQA), "ask", QUESTION], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_answering_from_a_snapshot_loads_neither_sqlalchemy_rich_nor_telegram(ready):
    code = (
        "import sys\n"
        "from bot.cli import cli\n"
        "try:\n"
        f"    cli.main(['ask', {QUESTION!r}], standalone_mode=False)\n"
        "finally:\n"
        "    heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'rich', 'telegram'})\n"
        "    print('HEAVY', heavy)\n"
    )
    env = {"WIKIQA_HOME": str(ready), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "May 15, 1992" in result.stdout
    assert "HEAVY []" in result.stdout
