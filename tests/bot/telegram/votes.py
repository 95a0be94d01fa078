"""Reading the votes a journal stored, straight from its table (the bot itself never reads them)."""

from __future__ import annotations

from sqlalchemy import select

from bot.telegram.journal import Journal
from retrieval.storage.database import open_engine
from retrieval.storage.journal import FEEDBACK


def stored_votes(journal: Journal, ref: str) -> dict[int, int]:
    """user id -> vote on the question ``ref``, once everything recorded so far is written."""
    journal.flush()
    engine = open_engine(journal.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(FEEDBACK.c.user_id, FEEDBACK.c.vote).where(FEEDBACK.c.question_ref == ref)
            )
            return {int(user): int(vote) for user, vote in rows}
    finally:
        engine.dispose()
