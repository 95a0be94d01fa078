"""``wikiqa ask``: answer one question, or one per line of standard input."""

from __future__ import annotations

import sys
from collections.abc import Iterable

import click

from bot.answer import MAX_PAGE
from bot.cli._common import as_text, database_option, text_lines

EXAMPLES = """\b
Examples:
  wikiqa ask When was the Collective Security Treaty signed?
  wikiqa ask -k 5 --json "Who are the members of the CSTO?"
  wikiqa ask --json - < questions.txt > answers.jsonl
"""


def _questions(words: tuple[str, ...]) -> Iterable[str]:
    """The question from the arguments, or (for a lone '-') one per line of stdin, read lazily.

    An empty question is refused here, before any start-up work (even a first-run build). Bytes
    that are not UTF-8, in an argument or on stdin, are read as U+FFFD.
    """
    if words == ("-",):
        return (line.strip() for line in text_lines(sys.stdin) if line.strip())
    question = " ".join(as_text(word) for word in words).strip()
    if not question:
        raise click.UsageError("the question is empty")
    return [question]


@click.command(epilog=EXAMPLES)
@click.argument("question", nargs=-1, required=True)
@click.option(
    "-k", "quotes", type=click.IntRange(1, 30), default=3, show_default=True, help="Quotes per page."
)
@click.option(
    "--page", type=click.IntRange(1, MAX_PAGE), default=1, show_default=True, help="Which page of quotes."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per question, one per line.")
@database_option
def ask(question: tuple[str, ...], quotes: int, page: int, as_json: bool, database_url: str | None) -> None:
    """Answer QUESTION from the corpus: an answer line, then the best quotes with their sources.

    The words after 'ask' form one question, quoted or not. A lone '-' reads one question per
    line from standard input, so one process can answer thousands. The first run on an empty
    store loads the bundled sample corpus and builds the index by itself.

    Answers come from the index snapshot alone, so they keep coming while the database is down;
    the database is needed only when there is no snapshot yet (the first run). Each question is
    answered on its own: for follow-ups such as "When was it founded?", use 'wikiqa chat'.

    Exit status: 0 when answered (also when there is no good match; see "no_match" in --json),
    1 on a failure (no snapshot yet and the database unreachable, or no whole snapshot left to
    answer from), 2 on a usage error.
    """
    from bot.answer import Answerer
    from bot.cli._common import settings
    from bot.corpus import open_snapshot

    questions = _questions(question)
    snapshot = open_snapshot(settings(database_url))
    answerer = Answerer(snapshot, quotes_per_page=quotes)
    if as_json:
        from bot.cli._common import print_json

        for text in questions:
            print_json(answerer.answer(text, page=page).to_json())
        return
    from bot.render_terminal import print_answer, terminal_text

    hint = f"More: wikiqa ask --page {page + 1} ..."
    for number, text in enumerate(questions):
        if number:
            sys.stdout.write("\n")
        if question == ("-",):
            sys.stdout.write(f"Q: {terminal_text(text)}\n")
        print_answer(answerer.answer(text, page=page), more_hint=hint)
