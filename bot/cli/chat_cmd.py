"""``wikiqa chat``: an interactive prompt over the answering service, as one conversation.

A follow-up ("When was it founded?") is answered with the subject of the answer before it, and
says so ("about the Shanghai Cooperation Organisation"); 'new' starts afresh. Greetings, thanks
and "help" get a short reply, never quotes (``bot.smalltalk``).

Line editing and history come from the standard library's ``readline`` (history is kept in
WIKIQA_HOME between sessions), so no extra dependency is needed. With standard input piped, it
reads questions line by line without a prompt, which is also how it is tested.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from bot.cli._common import database_option

EXAMPLES = """\b
Examples:
  wikiqa chat
  printf 'Who founded the CSTO?\\nmore\\n' | wikiqa chat
  printf 'What is the Shanghai Cooperation Organisation?\\nWhen was it founded?\\n' | wikiqa chat
"""

PROMPT = "? "
QUIT_WORDS = frozenset({"quit", "exit", ":q"})
MORE_WORDS = frozenset({"more", "m", "next"})
NEW_WORDS = frozenset({"new", "clear", "reset", "/new"})
HISTORY_LENGTH = 1000


def _enable_line_editing(history: Path) -> None:
    """Arrow keys, Ctrl-R and history across sessions, where the platform's readline exists."""
    try:
        import readline
    except ImportError:  # Windows without pyreadline: plain input() still works
        return
    import atexit

    history.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(HISTORY_LENGTH)

    def save() -> None:
        with contextlib.suppress(OSError):
            readline.write_history_file(history)

    atexit.register(save)


@click.command(epilog=EXAMPLES)
@click.option(
    "-k", "quotes", type=click.IntRange(1, 30), default=3, show_default=True, help="Quotes per page."
)
@database_option
def chat(quotes: int, database_url: str | None) -> None:
    """Ask questions at an interactive prompt.

    Type a question and press Enter. A follow-up such as "When was it founded?" is answered about
    the subject of the answer before it; 'new' (or 'clear') starts afresh. 'more' shows the next
    quotes for the last question; 'quit' or Ctrl-D leaves; Ctrl-C drops the line being typed.
    """
    from bot.answer import Answerer
    from bot.cli._common import settings
    from bot.conversation import Conversation
    from bot.corpus import open_snapshot
    from bot.examples import example_questions
    from bot.render_terminal import print_answer
    from bot.smalltalk import EXAMPLES_SHOWN, recognise, reply_text

    config = settings(database_url)
    interactive = sys.stdin.isatty()
    answerer = Answerer(open_snapshot(config), quotes_per_page=quotes)
    conversation = Conversation(answerer)
    if interactive:
        _enable_line_editing(config.home / "chat_history")
        click.echo(
            "Ask a question ('more' for further quotes, 'new' to change the subject, "
            "'quit' or Ctrl-D to leave)."
        )
    last = None
    while True:
        try:
            line = input(PROMPT) if interactive else sys.stdin.readline()
        except EOFError:
            break
        except KeyboardInterrupt:
            click.echo()
            continue
        if not interactive and line == "":
            break
        text = line.strip()
        if not text:
            continue
        if text.casefold() in QUIT_WORDS:
            break
        if text.casefold() in NEW_WORDS:
            conversation.new()
            last = None
            click.echo("Starting afresh: ask about anything.")
            continue
        if text.casefold() in MORE_WORDS:
            if last is None:
                click.echo("Ask a question first.")
                continue
            if not last.has_more:
                click.echo("No further quotes.")
                continue
            last = conversation.more() or last
        else:
            talk = recognise(text)
            if talk is not None:
                click.echo(reply_text(talk, example_questions(answerer.snapshot(), EXAMPLES_SHOWN)))
                continue
            last = conversation.ask(text)
            if last.about:
                click.echo(f"(about {last.about})")
        print_answer(last, more_hint="Type 'more' for further quotes.")
    if interactive:
        click.echo()
