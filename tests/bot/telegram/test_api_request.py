"""How the bot's Bot API requests fail, against a bare HTTP server that records each request:
whether a failed request went out decides whether it may be sent again (``api_retry``)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from telegram.error import TimedOut

from bot.telegram.api_outage import OutageLog
from bot.telegram.api_request import ApiTimedOut, ApiUnavailable, BotApiRequest

TOKEN = "700000001:AAF-transport-test-token"
MESSAGE = {
    "message_id": 7,
    "date": 1_700_000_000,
    "chat": {"id": 42, "type": "private"},
    "text": "hello",
}


@dataclass
class Received:
    head: str
    body: bytes


@dataclass
class RecordingServer:
    """Answers every request with ``reply`` (or never, when ``silent``) and keeps what came."""

    reply: dict = field(default_factory=lambda: {"ok": True, "result": MESSAGE})
    status: str = "200 OK"
    silent: bool = False
    drop: bool = False  # close the connection once the request has come, unanswered
    received: list[Received] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                length = int(header(head, "content-length") or 0)
                self.received.append(Received(head, await reader.readexactly(length)))
                if self.silent:
                    await asyncio.sleep(3600)
                if self.drop:
                    writer.close()
                    return
                body = json.dumps(self.reply).encode()
                writer.write(
                    f"HTTP/1.1 {self.status}\r\nContent-Type: application/json\r\n".encode()
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[RecordingServer]:
    recording = RecordingServer()
    tcp = await asyncio.start_server(recording.handle, "127.0.0.1", 0)
    recording.port = tcp.sockets[0].getsockname()[1]
    yield recording
    tcp.close()


def url(port: int, method: str) -> str:
    return f"http://127.0.0.1:{port}/bot{TOKEN}/{method}"


def header(head: str, name: str) -> str | None:
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return None


async def request_once(request: BotApiRequest, port: int, method: str = "getMe") -> tuple[int, bytes]:
    await request.initialize()
    try:
        # The outer bound only keeps a broken client from hanging the test.
        return await asyncio.wait_for(request.do_request(url(port, method), "POST"), 30)
    finally:
        await request.shutdown()


def closed_port() -> int:
    with socket.socket() as probe:  # a port that nothing listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Told(OutageLog):
    """An OutageLog that keeps what it was told."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1")
        self.told: list[str] = []

    def failed(self, err) -> None:
        self.told.append("failed")
        super().failed(err)

    def answered(self) -> None:
        self.told.append("answered")
        super().answered()


async def test_an_answered_request_returns_the_reply(server: RecordingServer) -> None:
    status, body = await request_once(BotApiRequest(), server.port)
    assert status == 200 and json.loads(body)["result"]["message_id"] == 7
    assert server.received[0].head.startswith(f"POST /bot{TOKEN}/getMe HTTP/1.1")


async def test_a_refused_connection_was_not_sent() -> None:
    with pytest.raises(ApiUnavailable) as failure:
        await request_once(BotApiRequest(), closed_port())
    assert failure.value.sent is False and failure.value.status is None


async def test_a_5xx_was_sent_and_carries_its_status_and_description(server: RecordingServer) -> None:
    server.status = "502 Bad Gateway"
    server.reply = {"ok": False, "error_code": 502, "description": "Bad Gateway: the back end is busy"}
    with pytest.raises(ApiUnavailable) as failure:
        await request_once(BotApiRequest(), server.port, "sendMessage")
    assert failure.value.sent is True and failure.value.status == 502
    assert failure.value.message == "Bad Gateway: the back end is busy (502)"


async def test_a_connection_dropped_after_the_request_went_out_leaves_it_unsure(
    server: RecordingServer,
) -> None:
    server.drop = True
    with pytest.raises(ApiUnavailable) as failure:
        await request_once(BotApiRequest(), server.port, "sendMessage")
    assert len(server.received) == 1  # it went out
    assert failure.value.sent is True and failure.value.status is None


async def test_a_server_that_never_answers_times_out_after_sending(server: RecordingServer) -> None:
    server.silent = True
    with pytest.raises(ApiTimedOut) as failure:
        await request_once(BotApiRequest(read_timeout=0.2), server.port)
    assert isinstance(failure.value, TimedOut)  # python-telegram-bot's polling loop retries it at once
    assert failure.value.sent is True


async def test_the_outage_log_is_told_of_each_failure_and_each_answer(server: RecordingServer) -> None:
    told = Told()
    with pytest.raises(ApiUnavailable):
        await request_once(BotApiRequest(outage=told), closed_port())
    await request_once(BotApiRequest(outage=told), server.port)
    assert told.told == ["failed", "answered"]


async def test_a_proxy_from_the_environment_carries_the_requests(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    request = BotApiRequest()  # reads the environment when its client is made
    await request.initialize()
    try:
        status, _body = await request.do_request(f"http://api.telegram.invalid/bot{TOKEN}/getMe", "POST")
    finally:
        await request.shutdown()
    assert status == 200
    assert server.received[0].head.startswith(f"POST http://api.telegram.invalid/bot{TOKEN}/getMe ")
