"""The ``wikiqa`` command. Subcommands live in their own modules and are imported only when run,
so ``wikiqa ask`` does not pay for SQLAlchemy, rich or telegram."""

from __future__ import annotations

import importlib
import sys

import click

# name -> (module, attribute, one-line help shown by ``wikiqa --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "ask": ("bot.cli.ask_cmd", "ask", "Answer a question from the corpus."),
    "chat": ("bot.cli.chat_cmd", "chat", "Ask questions at an interactive prompt."),
    "ingest": ("bot.cli.ingest_cmd", "ingest", "Load articles into the store from files or a database."),
    "reindex": ("bot.cli.reindex_cmd", "reindex", "Rebuild the search index snapshot from the store."),
    "eval": ("bot.cli.eval_cmd", "eval_", "Measure answer quality on a questions file."),
    "stats": ("bot.cli.stats_cmd", "stats", "Show corpus, index and snapshot figures."),
    "report": ("bot.cli.report_cmd", "report", "Report the bot's questions, refusals and feedback."),
    "serve": ("bot.cli.serve_cmd", "serve", "Run the Telegram bot."),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute, _ = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module_name), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, helptext) for name, (_, _, helptext) in COMMANDS.items()])


def _help() -> str:
    from bot.settings import VARIABLES

    lines = "\n".join(f"  {name:<27}{meaning}" for name, meaning in VARIABLES.items())
    return (
        "wikiqa answers questions by quoting the best-matching passages of an article corpus.\n\n"
        "Configuration comes from environment variables, or a .env file in the working folder "
        "(the environment wins):\n\n\b\n" + lines
    )


@click.group(
    cls=LazyGroup,
    help=_help(),
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Example: wikiqa ask When was the Collective Security Treaty signed?",
)
@click.version_option(package_name="wikiqa")
def cli() -> None:
    pass


def main() -> None:
    """Console entry point: user-facing failures become one sentence on stderr and exit code 1."""
    from retrieval.errors import WikiqaError

    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except WikiqaError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(0)
