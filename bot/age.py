"""How old a snapshot is, in words: one rule for the terminal and for Telegram."""

from __future__ import annotations

from datetime import UTC, datetime

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


def built_at(text: str) -> datetime | None:
    """A snapshot's build time (``2026-11-27T16:05:01Z``, as its manifest keeps it), or None."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def age(seconds: float) -> str:
    """'5 minutes', '1 hour', '12 seconds': the largest whole unit."""
    for unit, size in _UNITS:
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{max(0, int(seconds))} seconds"


def ago(text: str, *, now: datetime | None = None) -> str:
    """'5 minutes ago' for a build time, 'just now' within the minute."""
    when = built_at(text)
    if when is None:
        return "at an unknown time"
    seconds = ((now or datetime.now(UTC)) - when).total_seconds()
    return "just now" if seconds < 60 else f"{age(seconds)} ago"
