"""An outage of the Bot API told in two log lines: once when requests start failing, once when it
answers again.

Given to the bot's requests (:class:`~bot.telegram.api_request.BotApiRequest`), through which
python-telegram-bot keeps polling and, at start-up, keeps trying to reach the API: without it
every failed poll was logged with its traceback, a thousand lines in a few minutes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from telegram.error import NetworkError

log = logging.getLogger(__name__)


class OutageLog:
    """Says once that requests to the Bot API at ``api`` fail, and once that it answers again."""

    def __init__(self, api: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._api = api
        self._clock = clock
        self._failures = 0
        self._since = 0.0

    def failed(self, err: NetworkError) -> None:
        self._failures += 1
        if self._failures == 1:
            self._since = self._clock()
            log.warning(
                "cannot reach the Telegram Bot API at %s (%s); trying again until it answers",
                self._api,
                err.message,
            )

    def answered(self) -> None:
        if not self._failures:
            return
        log.warning(
            "the Telegram Bot API at %s answers again, after %.0f s and %d failed requests",
            self._api,
            self._clock() - self._since,
            self._failures,
        )
        self._failures = 0
