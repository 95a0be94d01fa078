"""When a Bot API request that failed on the way is sent again, and after how long.

:class:`RetryPolicy` decides from how each attempt failed (see
:class:`~bot.telegram.api_request.ApiUnavailable`); :class:`RetryingRateLimiter` applies it, on
python-telegram-bot's public rate-limiter interface, around every method but ``getUpdates``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram.error import NetworkError
from telegram.ext import AIORateLimiter

from bot.telegram.api_request import ApiUnavailable

log = logging.getLogger(__name__)


def is_idempotent(endpoint: str) -> bool:
    """Whether carrying out a Bot API method twice leaves the chat as carrying it out once.

    The methods that post something new (send*, forward*, copy*, create*) are not, except the
    typing indicator. Edits and answers are: a repeated edit is refused as "message is not
    modified" and a repeated callback answer as too old, both BadRequests that their callers
    here already ignore or report like any other failed update.
    """
    return endpoint == "sendChatAction" or not endpoint.startswith(("send", "forward", "copy", "create"))


@dataclass(frozen=True)
class Backoff:
    """Exponential delays with jitter: the n-th wait is between half and all of
    ``min(cap, first * 2 ** (n - 1))`` seconds.

    The fixed half keeps a retry from coming back at once; the random half keeps the bot's
    concurrent requests (and several replicas) from retrying in step after a shared failure.
    """

    first: float = 1.0
    cap: float = 8.0
    random: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, retry: int) -> float:
        ceiling = min(self.cap, self.first * 2 ** max(0, retry - 1))
        return ceiling * (0.5 + 0.5 * self.random())


@dataclass(frozen=True)
class RetryPolicy:
    """When a Bot API request that failed on the way is sent again, and after how long.

    - Not sent (the connection could not be opened): every method, up to ``attempts`` in all.
    - Answered 5xx: every method likewise. The Bot API answers 5xx when it could not carry the
      request out (an internal error, a busy back end) and almost never after posting the
      message; a rare duplicate is better than a reply lost to a short run of them.
    - Sent and unanswered (a connection dropped or timed out after the request was written):
      idempotent methods likewise; the others (``sendMessage`` and kin) once more only, after
      which the failure is raised. That second send accepts a rare duplicate: it needs the API to
      have posted the message and then lost the connection, and the user then sees the reply
      twice, while not sending loses the reply without anyone being told. One retry bounds the
      duplicates to one extra copy.
    - 429 Too Many Requests is waited out by python-telegram-bot's rate limiter underneath, as it
      asks; everything else (400, 403, a rejected token) is final.

    ``getUpdates`` is not retried here: python-telegram-bot's polling loop polls again forever.
    """

    attempts: int = 4
    unsure_retries: int = 1
    backoff: Backoff = Backoff()

    def delay_before_retry(self, endpoint: str, failures: Sequence[BaseException]) -> float | None:
        """Seconds to wait before sending ``endpoint`` again after ``failures`` (oldest first),
        or None to give up and raise the last one."""
        last = failures[-1]
        if not isinstance(last, ApiUnavailable) or len(failures) >= self.attempts:
            return None
        unsure = sum(1 for failure in failures if _unsure(failure))
        if _unsure(last) and not is_idempotent(endpoint) and unsure > self.unsure_retries:
            return None
        return self.backoff.delay(len(failures))


def _unsure(failure: BaseException) -> bool:
    """Whether ``failure`` left it open if the request was carried out: sent, and then no answer."""
    return isinstance(failure, ApiUnavailable) and failure.sent and failure.status is None


class RetryingRateLimiter(AIORateLimiter):
    """python-telegram-bot's rate limiter, which waits out 429s, also sending again requests that
    failed on the way, as :class:`RetryPolicy` allows.

    The one place where requests are sent again: python-telegram-bot routes every method but
    ``getUpdates`` through its rate limiter, and each new attempt takes its turn under the rate
    limits like any request.
    """

    def __init__(self, *, retry: RetryPolicy, **limits: Any) -> None:
        super().__init__(**limits)
        self._retry = retry

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        failures: list[BaseException] = []
        while True:
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except NetworkError as err:
                failures.append(err)
                delay = self._retry.delay_before_retry(endpoint, failures)
                if delay is None:
                    raise
                log.debug("%s failed (%s); sending it again in %.2f s", endpoint, err.message, delay)
                await asyncio.sleep(delay)
