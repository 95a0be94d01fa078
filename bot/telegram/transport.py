"""The bot's HTTP client for the Bot API: python-telegram-bot's request interface over aiohttp.

python-telegram-bot talks HTTP through a :class:`~telegram.request.BaseRequest`; its stock one
uses httpx. Sending the one reply to a question was most of the bot process's CPU per answer,
and most of that was the client: httpcore polls every pooled socket and writes headers and body
in two system calls per request, and the form encoding of the parameters is pure Python. aiohttp
keeps connections with its C parser and no per-request pool scan, and the parameters go as one
JSON body, which the Bot API accepts like a form. ``benchmarks/bot_http.py`` measures the CPU
per sendMessage of both clients.

The client also says how a request failed, which decides whether sending it again is safe: a
request that never reached the Bot API (no connection) cannot have been carried out, one answered
5xx almost never was, and one whose connection dropped or timed out after it went out may have been.
:class:`RetryingRateLimiter` sends again on those terms, and :class:`OutageLog` reports a run of
failed long polls in two lines.
"""

from __future__ import annotations

import asyncio
import functools
import http
import json
import logging
import random
import time
import urllib.request
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.ext import AIORateLimiter
from telegram.request import BaseRequest, RequestData

log = logging.getLogger(__name__)

# The defaults of python-telegram-bot's own client, so timeouts mean what its docs say.
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_POOL_TIMEOUT_SECONDS = 1.0


class ApiUnavailable(NetworkError):
    """The Bot API did not answer a request: no connection, a 5xx, or a connection lost after sending.

    ``sent`` is False when the request never reached the server (the connection could not be
    opened), so sending it again cannot carry it out twice; True when it went out and the server
    may have acted on it before failing. aiohttp does not say whether a request whose connection
    broke had been written completely, so every failure after connecting counts as sent. ``status``
    is the HTTP status of a 5xx answer.
    """

    def __init__(self, message: str, *, sent: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.sent = sent
        self.status = status


class ApiTimedOut(ApiUnavailable, TimedOut):
    """:class:`ApiUnavailable` that is also python-telegram-bot's ``TimedOut``, which its polling
    loop retries at once (the timeout itself has paced it)."""


class AiohttpRequest(BaseRequest):
    """Bot API requests over one aiohttp session with up to ``connection_pool_size`` connections.

    Timeouts follow python-telegram-bot's meaning: ``read_timeout`` bounds each wait for the
    server's bytes, ``connect_timeout`` a new connection, and ``pool_timeout`` the wait for a free
    connection. aiohttp has no separate write timeout; a stalled write is caught by the read
    timeout that follows it. Proxies come from the environment (``HTTPS_PROXY``, ``NO_PROXY``), as
    with httpx, read once per host rather than by aiohttp's ``trust_env`` on every request (which
    also reads ``~/.netrc`` each time, in a thread).
    """

    def __init__(
        self,
        connection_pool_size: int = 8,
        *,
        read_timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        connect_timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        pool_timeout: float | None = DEFAULT_POOL_TIMEOUT_SECONDS,
        outage: OutageLog | None = None,
    ) -> None:
        self._pool_size = connection_pool_size
        self._outage = outage
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session; aiohttp binds it to the running event loop, so not in ``__init__``."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets none
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        timeout = self._timeout(read_timeout, connect_timeout, pool_timeout)
        try:
            status, body = await self._send(url, method, request_data, timeout)
        except ApiUnavailable as err:
            if self._outage is not None:
                self._outage.failed(err)
            raise
        if self._outage is not None:
            self._outage.answered()
        return status, body

    async def _send(
        self, url: str, method: str, request_data: RequestData | None, timeout: aiohttp.ClientTimeout
    ) -> tuple[int, bytes]:
        """One HTTP exchange; a failure the API may recover from is raised as :class:`ApiUnavailable`."""
        assert self._session is not None
        try:
            async with self._session.request(
                method, url, timeout=timeout, proxy=_proxy_for(url), **_body(request_data)
            ) as response:
                status, body = response.status, await response.read()
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as err:
            raise _unavailable(err) from err
        except aiohttp.ClientError as err:  # an invalid URL and the like: sending again cannot help
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
        if status >= http.HTTPStatus.INTERNAL_SERVER_ERROR:
            raise ApiUnavailable(_server_error(status, body), sent=True, status=status)
        return status, body

    def _timeout(
        self, read: ODVInput[float], connect: ODVInput[float], pool: ODVInput[float]
    ) -> aiohttp.ClientTimeout:
        read = self._read_timeout if isinstance(read, DefaultValue) else read
        connect = self._connect_timeout if isinstance(connect, DefaultValue) else connect
        pool = self._pool_timeout if isinstance(pool, DefaultValue) else pool
        # aiohttp's ``connect`` covers waiting for a pooled connection and opening a new one.
        acquire = None if pool is None or connect is None else pool + connect
        return aiohttp.ClientTimeout(total=None, connect=acquire, sock_connect=connect, sock_read=read)


def _proxy_for(url: str) -> str | None:
    parts = urlsplit(url)
    return _env_proxy(parts.scheme, parts.hostname or "")


@functools.lru_cache(maxsize=64)
def _env_proxy(scheme: str, host: str) -> str | None:
    """The proxy the environment sets for ``scheme`` URLs to ``host``, if any."""
    if not host or urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(scheme)


def _body(request_data: RequestData | None) -> dict[str, Any]:
    """The request's parameters: one JSON body, or a multipart form when files are uploaded."""
    if request_data is None:
        return {}
    files = request_data.multipart_data
    if not files:
        return {"data": request_data.json_payload, "headers": {"Content-Type": "application/json"}}
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime_type) in files.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return {"data": form}


def _unavailable(err: Exception) -> ApiUnavailable:
    """The aiohttp failure ``err`` as :class:`ApiUnavailable`, sent or not.

    Only a failure to connect (refused, unreachable, DNS, TLS handshake, the connect timeout, which
    also bounds the wait for a pooled connection) leaves the request unsent.
    """
    sent = not isinstance(err, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)
    if isinstance(err, TimeoutError):  # aiohttp's own timeout errors are TimeoutErrors too
        return ApiTimedOut(f"The Bot API did not answer in time ({type(err).__name__}).", sent=sent)
    return ApiUnavailable(f"aiohttp.{type(err).__name__}: {err}", sent=sent)


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


# ----------------------------------------------------------------------------- sending again
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


# ----------------------------------------------------------------------------- outages
class OutageLog:
    """Says once that requests to the Bot API fail, and once that it answers again.

    Given to the long-polling client, which python-telegram-bot keeps polling through an outage:
    without it every failed poll was logged with its traceback, a thousand lines in a few minutes.
    """

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
                "Telegram Bot API at %s unreachable (%s); polling again until it answers",
                self._api,
                err.message,
            )

    def answered(self) -> None:
        if not self._failures:
            return
        log.warning(
            "Telegram Bot API at %s answers again, after %.0f s and %d failed polls",
            self._api,
            self._clock() - self._since,
            self._failures,
        )
        self._failures = 0
