"""The bot's Bot API client: python-telegram-bot's own ``HTTPXRequest``, saying how a request failed.

How a request failed decides whether sending it again is safe: a request that never reached the
Bot API (no connection) cannot have been carried out, one answered 5xx almost never was, and one
whose connection dropped or timed out after it went out may have been. :class:`BotApiRequest`
raises those as :class:`ApiUnavailable` with ``sent`` and ``status`` set, for the retry policy
(:mod:`bot.telegram.api_retry`), and tells an :class:`~bot.telegram.api_outage.OutageLog` when
the API stops and starts answering. Everything else (connections, timeouts, encoding) is
python-telegram-bot's, with its defaults.
"""

from __future__ import annotations

import http
import json
from typing import Any

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

from bot.telegram.api_outage import OutageLog

# httpx's failures that leave a request unsent: the connection could not be opened (refused,
# unreachable, DNS, TLS handshake), or no pooled connection became free in time.
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class ApiUnavailable(NetworkError):
    """The Bot API did not answer a request: no connection, a 5xx, or a connection lost after sending.

    ``sent`` is False when the request never reached the server, so sending it again cannot
    carry it out twice; True when it went out and the server may have acted on it before
    failing (any failure after connecting counts as sent). ``status`` is the HTTP status of a
    5xx answer.
    """

    def __init__(self, message: str, *, sent: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.sent = sent
        self.status = status


class ApiTimedOut(ApiUnavailable, TimedOut):
    """:class:`ApiUnavailable` that is also python-telegram-bot's ``TimedOut``, which its polling
    loop retries at once (the timeout itself has paced it)."""


class BotApiRequest(HTTPXRequest):
    """``HTTPXRequest`` whose failures say whether the request was sent (see :class:`ApiUnavailable`).

    Takes ``HTTPXRequest``'s arguments, keyword-only, plus the ``outage`` log to tell.
    """

    def __init__(self, *, outage: OutageLog | None = None, **options: Any) -> None:
        super().__init__(**options)
        self._outage = outage

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            status, body = await super().do_request(*args, **kwargs)
            if status >= http.HTTPStatus.INTERNAL_SERVER_ERROR:
                raise ApiUnavailable(_server_error(status, body), sent=True, status=status)
        except NetworkError as err:
            failure = err if isinstance(err, ApiUnavailable) else _unavailable(err)
            if self._outage is not None:
                self._outage.failed(failure)
            if failure is err:
                raise
            raise failure from err.__cause__
        if self._outage is not None:
            self._outage.answered()
        return status, body


def _unavailable(err: NetworkError) -> ApiUnavailable:
    """``HTTPXRequest``'s ``err`` (which it raises from httpx's exception) as :class:`ApiUnavailable`.

    Unsent only when httpx says so; an error whose cause is not known counts as sent, so a
    non-idempotent request is sent again at most once.
    """
    sent = not isinstance(err.__cause__, _UNSENT)
    if isinstance(err, TimedOut):
        return ApiTimedOut(err.message, sent=sent)
    return ApiUnavailable(err.message, sent=sent)


def _server_error(status: int, body: bytes) -> str:
    """What python-telegram-bot would say of a 5xx: the API's description, else the status phrase."""
    try:
        description = json.loads(body).get("description")
    except (ValueError, AttributeError):
        description = None
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown HTTPError"
    return f"{description or phrase} ({status})"
