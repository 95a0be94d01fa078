"""How long the store may take, in one small module: settings read it without loading a driver."""

from __future__ import annotations

from dataclasses import dataclass

# The variables that set them (read by bot/settings.py), named in the message of a timeout.
CONNECT_TIMEOUT_VARIABLE = "WIKIQA_DB_CONNECT_TIMEOUT"
READ_TIMEOUT_VARIABLE = "WIKIQA_DB_READ_TIMEOUT"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds a connection may take to open, and a server may take to answer one request.

    The read timeout bounds one round trip (a page of a reindex, one batch of an ingest), not a
    whole command, so it can stay well below the time a large reindex takes.
    """

    connect: float = 10.0
    read: float = 120.0
    # A sentence naming a variable whose value could not be used (the defaults stand in for it):
    # raised by the first connection, so a typo stops the commands that use the store, and only
    # those (``wikiqa ask`` answers from the snapshot without one).
    problem: str | None = None


DEFAULT_TIMEOUTS = Timeouts()
