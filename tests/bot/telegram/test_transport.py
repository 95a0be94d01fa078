"""The bot's aiohttp client for the Bot API, against a bare HTTP server that records each request."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import NetworkError, TimedOut
from telegram.ext import ExtBot
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.telegram import transport
from bot.telegram.transport import AiohttpRequest

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
    silent: bool = False
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
                body = json.dumps(self.reply).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
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


async def test_parameters_go_as_one_json_body_and_the_reply_is_parsed(server: RecordingServer) -> None:
    request = AiohttpRequest()
    bot = ExtBot(TOKEN, base_url=f"http://127.0.0.1:{server.port}/bot", request=request)
    await request.initialize()
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More ▸", callback_data="m:1")]])
    try:
        message = await bot.send_message(42, "<b>Kyiv</b> & more", parse_mode="HTML", reply_markup=keyboard)
    finally:
        await request.shutdown()
    sent = server.received[0]
    assert sent.head.startswith(f"POST /bot{TOKEN}/sendMessage HTTP/1.1")
    assert header(sent.head, "content-type") == "application/json"
    assert "python-telegram-bot" in (header(sent.head, "user-agent") or "")
    params = json.loads(sent.body)
    assert params["chat_id"] == "42"  # python-telegram-bot sends every value as a string
    assert params["text"] == "<b>Kyiv</b> & more"
    assert json.loads(params["reply_markup"])["inline_keyboard"][0][0]["callback_data"] == "m:1"
    assert message.message_id == 7 and message.text == "hello"


async def test_requests_reuse_one_kept_alive_connection(server: RecordingServer) -> None:
    connections = 0
    handle = server.handle

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await handle(reader, writer)

    tcp = await asyncio.start_server(counting, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        for _ in range(5):
            status, _body = await request.do_request(url(port, "getMe"), "POST")
            assert status == 200
    finally:
        await request.shutdown()
        tcp.close()
    assert connections == 1


async def test_uploaded_files_go_as_a_multipart_form(server: RecordingServer) -> None:
    request = AiohttpRequest()
    await request.initialize()
    params = {"chat_id": 42, "document": InputFile(b"file body bytes", filename="notes.txt")}
    data = RequestData([RequestParameter.from_input(name, value) for name, value in params.items()])
    try:
        status, _body = await request.do_request(url(server.port, "sendDocument"), "POST", data)
    finally:
        await request.shutdown()
    sent = server.received[0]
    assert status == 200
    assert (header(sent.head, "content-type") or "").startswith("multipart/form-data")
    assert b'name="chat_id"' in sent.body and b"\r\n42\r\n" in sent.body
    assert b'filename="notes.txt"' in sent.body and b"file body bytes" in sent.body


async def test_a_server_that_never_answers_times_out(server: RecordingServer) -> None:
    server.silent = True
    request = AiohttpRequest(read_timeout=0.2)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):  # the outer bound only keeps a broken client from hanging
            await asyncio.wait_for(request.do_request(url(server.port, "getMe"), "POST"), 10)
    finally:
        await request.shutdown()


async def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as probe:  # a port that nothing listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError, match="aiohttp"):
            await request.do_request(url(port, "getMe"), "POST")
    finally:
        await request.shutdown()


async def test_a_request_after_shutdown_is_refused_until_initialized_again(server: RecordingServer) -> None:
    request = AiohttpRequest()
    await request.initialize()
    await request.shutdown()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(url(server.port, "getMe"), "POST")
    await request.initialize()
    try:
        assert (await request.do_request(url(server.port, "getMe"), "POST"))[0] == 200
    finally:
        await request.shutdown()


async def test_a_proxy_from_the_environment_carries_the_requests(
    server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    transport._env_proxy.cache_clear()
    request = AiohttpRequest()
    await request.initialize()
    try:
        status, _body = await request.do_request(f"http://api.telegram.invalid/bot{TOKEN}/getMe", "POST")
    finally:
        await request.shutdown()
        transport._env_proxy.cache_clear()
    assert status == 200
    assert server.received[0].head.startswith(f"POST http://api.telegram.invalid/bot{TOKEN}/getMe ")
