"""A per-user question limit over a sliding minute.

Past the limit the user gets one friendly notice, then silence until the window frees up, so a
flood of messages never turns into a flood of notices (which would count against the bot's own
Telegram limits).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum

WINDOW_SECONDS = 60.0


class Verdict(Enum):
    ALLOW = "allow"
    NOTIFY = "notify"  # over the limit: tell the user once
    DROP = "drop"  # over the limit and already told


class UserRateLimiter:
    """At most ``per_minute`` questions per user in any 60 s; ``per_minute <= 0`` means no limit."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._notified: set[int] = set()
        self._checks = 0

    def check(self, user_id: int) -> Verdict:
        if self.per_minute <= 0:
            return Verdict.ALLOW
        now = self._clock()
        self._checks += 1
        if self._checks % 1000 == 0:
            self._forget_idle(now)
        asked = self._asked.setdefault(user_id, deque())
        while asked and asked[0] <= now - WINDOW_SECONDS:
            asked.popleft()
        if len(asked) < self.per_minute:
            asked.append(now)
            self._notified.discard(user_id)
            return Verdict.ALLOW
        if user_id in self._notified:
            return Verdict.DROP
        self._notified.add(user_id)
        return Verdict.NOTIFY

    def retry_in(self, user_id: int) -> float:
        """Seconds until ``user_id`` may ask again."""
        asked = self._asked.get(user_id)
        if not asked or len(asked) < self.per_minute:
            return 0.0
        return max(0.0, asked[0] + WINDOW_SECONDS - self._clock())

    def _forget_idle(self, now: float) -> None:
        """Drop users with nothing in the window, so memory follows active users only."""
        idle = [uid for uid, asked in self._asked.items() if not asked or asked[-1] <= now - WINDOW_SECONDS]
        for uid in idle:
            del self._asked[uid]
            self._notified.discard(uid)
