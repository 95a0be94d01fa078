"""The bot's HTTP client for the Bot API: python-telegram-bot's request interface over aiohttp.

python-telegram-bot talks HTTP through a :class:`~telegram.request.BaseRequest`; its stock one
uses httpx. Sending the one reply to a question was most of the bot process's CPU per answer,
and most of that was the client: httpcore polls every pooled socket and writes headers and body
in two system calls per request, and the form encoding of the parameters is pure Python. aiohttp
keeps connections with its C parser and no per-request pool scan, and the parameters go as one
JSON body, which the Bot API accepts like a form. ``benchmarks/bot_http.py`` measures the CPU
per sendMessage of both clients.
"""

from __future__ import annotations

import functools
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# The defaults of python-telegram-bot's own client, so timeouts mean what its docs say.
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_POOL_TIMEOUT_SECONDS = 1.0


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
    ) -> None:
        self._pool_size = connection_pool_size
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
            async with self._session.request(
                method, url, timeout=timeout, proxy=_proxy_for(url), **_body(request_data)
            ) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # aiohttp's own timeout errors are TimeoutErrors too
            raise TimedOut(f"The Bot API did not answer in time ({type(err).__name__}).") from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err

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
