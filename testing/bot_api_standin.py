"""A Bot API stand-in: a small HTTP/1.1 server on 127.0.0.1 that answers like api.telegram.org.

The real ``Application`` polls it through its base URL, so the tests exercise the bot as it runs:
real HTTP, real JSON, real retries. The stand-in

- queues the updates a test creates (``message``, ``callback``, ``inline_query``) and hands them out
  through long-polled ``getUpdates``, or, once the bot has called ``setWebhook``, POSTs each one to
  the webhook URL with the secret token header, over at most ``max_connections`` keep-alive
  connections, as Telegram does;
- answers ``sendMessage`` and ``editMessageText`` with realistic messages: the HTML is parsed as
  Telegram parses it (only Telegram's tags, balanced, ``<``/``&`` escaped, at most 4,096 characters
  after parsing) into plain text plus entities with UTF-16 offsets, and refused with a 400 otherwise;
- records every call, so tests wait on conditions (``wait_for``) rather than sleeping;
- can answer the next calls of a method with 429 and ``retry_after``, or with a 5xx (``fail_next``),
  or close their connection unanswered, before or after carrying them out (``drop_next``);
- can go down (``go_down``: open connections are closed, every request is dropped unanswered) and
  come up again, stop listening and listen again on the same port, or be started on a port the
  bot was already told to use.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MAX_TEXT_LENGTH = 4096

BOT_USER = {
    "id": 700000001,
    "is_bot": True,
    "first_name": "wikiqa",
    "username": "wikiqa_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": True,
}

# Parameters the client JSON-encodes (everything else arrives as a plain string).
_JSON_PARAMS = {
    "reply_markup",
    "results",
    "commands",
    "entities",
    "reply_parameters",
    "link_preview_options",
    "allowed_updates",
    "scope",
    "button",
}
_INT_PARAMS = {"chat_id", "message_id", "offset", "limit", "cache_time", "user_id"}
_FLOAT_PARAMS = {"timeout"}

_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>|&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);|[<>&]"
)
_ENTITY_CHARS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HREF = re.compile(r"""^\s+href\s*=\s*(?:"([^"]*)"|'([^']*)')\s*$""")


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: (plain text, entities), or ApiError 400 like the real API."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, dict[str, Any]]] = []
    offset = 0  # in UTF-16 code units
    pos = 0
    for match in _TOKEN.finditer(source):
        if match.start() > pos:
            chunk = source[pos : match.start()]
            out.append(chunk)
            offset += _utf16_len(chunk)
        pos = match.end()
        closing, tag, attrs, entity = match.group(1), match.group(2), match.group(3), match.group(4)
        if tag is None and entity is None:
            raise ApiError(
                400,
                f"Bad Request: can't parse entities: unescaped '{match.group()}' at byte offset "
                f"{len(source[: match.start()].encode())}",
            )
        if entity is not None:
            if entity.startswith("#x"):
                char = chr(int(entity[2:], 16))
            elif entity.startswith("#"):
                char = chr(int(entity[1:]))
            else:
                char = _ENTITY_CHARS[entity]
            out.append(char)
            offset += _utf16_len(char)
            continue
        tag = tag.lower()
        if tag not in _TAGS:
            raise ApiError(400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"')
        if closing:
            if not stack or stack[-1][0] != tag:
                raise ApiError(400, f'Bad Request: can\'t parse entities: Unmatched end tag "{tag}"')
            name, start, extra = stack.pop()
            kind = extra.pop("type", _TAGS[name])
            if offset > start:
                entities.append({"type": kind, "offset": start, "length": offset - start, **extra})
            continue
        extra: dict[str, Any] = {}
        if tag == "a":
            href = _HREF.match(attrs or "")
            if not href:
                raise ApiError(400, "Bad Request: can't parse entities: a tag without a valid href")
            url = href.group(1) if href.group(1) is not None else href.group(2)
            url = re.sub(r"&(lt|gt|amp|quot);", lambda m: _ENTITY_CHARS[m.group(1)], url)
            if not url.startswith(("http://", "https://", "tg://")):
                raise ApiError(400, f"Bad Request: can't parse entities: unsupported URL '{url}'")
            extra = {"url": url}
        elif attrs and attrs.strip() and not (tag == "blockquote" and attrs.strip() == "expandable"):
            raise ApiError(400, f'Bad Request: can\'t parse entities: unsupported attributes in "{tag}"')
        if tag == "blockquote" and attrs and attrs.strip() == "expandable":
            extra = {"type": "expandable_blockquote"}
        stack.append((tag, offset, extra))
    if stack:
        raise ApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{stack[-1][0]}"',
        )
    out.append(source[pos:])
    text = "".join(out)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return text, entities


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep-alive) of one HTTP/1.1 response, its body read and dropped."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the webhook closed the connection")
    status = int(status_line.split()[1])
    length, keep_alive = 0, True
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            keep_alive = value != "close"
    await reader.readexactly(length)
    return status, keep_alive


def _command_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram attaches to a user's message: bot commands and @mentions."""
    entities = []
    for match in re.finditer(r"(?<!\S)/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?|(?<!\S)@[A-Za-z0-9_]{5,32}", text):
        kind = "bot_command" if match.group().startswith("/") else "mention"
        entities.append(
            {
                "type": kind,
                "offset": _utf16_len(text[: match.start()]),
                "length": _utf16_len(match.group()),
            }
        )
    return entities


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    result: Any = None
    dropped: bool = False  # the connection was closed instead of answering (status 0: not carried out)


@dataclass(frozen=True)
class Failure:
    """How to fail one call: answer ``status`` (429 with ``retry_after``), or close the connection
    unanswered (``drop``), having carried the call out first when ``processed``."""

    status: int = 429
    retry_after: int = 1
    drop: bool = False
    processed: bool = False


@dataclass
class StandIn:
    """The server and its state; start it with ``await StandIn(token).start()``."""

    token: str
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    on_call: Callable[[Call], None] | None = None
    webhook: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._query_ids = itertools.count(1)
        self._failures: dict[str, list[Failure]] = {}
        self._down = False
        self._chats: dict[int, dict[str, Any]] = {}
        self._changed: asyncio.Condition | None = None
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._deliveries: asyncio.Queue[dict[str, Any]] | None = None
        self._deliverers: list[asyncio.Task] = []
        self.delivered: list[tuple[int, int]] = []  # (update_id, HTTP status) of webhook deliveries
        self.port = 0

    # ----------------------------------------------------------------- server lifecycle
    async def start(self, port: int = 0) -> StandIn:
        """Listen on ``port`` (any free one by default)."""
        self._changed = asyncio.Condition()
        self._server = await asyncio.start_server(self._serve_connection, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._stop_deliveries()
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()

    async def stop_listening(self) -> None:
        """Close the port and every open connection: the bot's next request is refused, so it
        cannot have been carried out. ``listen_again`` opens the same port."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def listen_again(self) -> None:
        self._server = await asyncio.start_server(self._serve_connection, "127.0.0.1", self.port)

    @property
    def base_url(self) -> str:
        """What ``TELEGRAM_API_BASE_URL`` is set to for the bot under test."""
        return f"http://127.0.0.1:{self.port}"

    # ----------------------------------------------------------------- what a test does
    def user(self, user_id: int, first_name: str = "Test", username: str | None = None) -> dict[str, Any]:
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
        if username:
            user["username"] = username
        return user

    def private_chat(self, user: dict[str, Any]) -> dict[str, Any]:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        self._chats[chat["id"]] = chat
        return chat

    def group_chat(self, chat_id: int, title: str = "Test group") -> dict[str, Any]:
        chat = {"id": chat_id, "type": "supergroup", "title": title}
        self._chats[chat_id] = chat
        return chat

    def message(
        self,
        user: dict[str, Any],
        text: str,
        *,
        chat: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Queue a user's text message; returns the message as the bot will see it."""
        chat = chat or self.private_chat(user)
        message = {
            "message_id": self._next_message_id(chat["id"]),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        entities = _command_entities(text)
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.messages[(chat["id"], message["message_id"])] = message
        self._queue({"message": message})
        return message

    def callback(self, user: dict[str, Any], message: dict[str, Any], data: str) -> str:
        """Queue a press of an inline button under ``message``; returns the callback query id."""
        query_id = f"cbq{next(self._query_ids)}"
        current = self.messages.get((message["chat"]["id"], message["message_id"]), message)
        self._queue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": current,
                    "chat_instance": str(message["chat"]["id"]),
                    "data": data,
                }
            }
        )
        return query_id

    def inline_query(self, user: dict[str, Any], query: str) -> str:
        query_id = f"iq{next(self._query_ids)}"
        self._queue({"inline_query": {"id": query_id, "from": user, "query": query, "offset": ""}})
        return query_id

    def fail_next(self, method: str, *, retry_after: int = 1, times: int = 1, status: int = 429) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 Too Many Requests, or ``status``."""
        failure = Failure(status=status, retry_after=retry_after)
        self._failures.setdefault(method, []).extend([failure] * times)

    def drop_next(self, method: str, *, times: int = 1, processed: bool = False) -> None:
        """Close the connection of the next ``times`` calls of ``method`` without answering; with
        ``processed``, after carrying them out (a sent message is then in the chat)."""
        failure = Failure(drop=True, processed=processed)
        self._failures.setdefault(method, []).extend([failure] * times)

    def go_down(self) -> None:
        """Close every open connection and drop every request unanswered until ``come_up``."""
        self._down = True
        for writer in list(self._writers):
            writer.close()

    def come_up(self) -> None:
        self._down = False

    def dropped(self, method: str) -> list[Call]:
        return [call for call in self.calls_of(method) if call.dropped]

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def sent_to(self, chat_id: int) -> list[Call]:
        """Successful sendMessage calls to a chat, in order."""
        return [
            c
            for c in self.calls
            if c.method == "sendMessage" and c.status == 200 and c.params.get("chat_id") == chat_id
        ]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
        """Wait until ``predicate()`` is truthy (checked after every call); fail after ``timeout``."""
        assert self._changed is not None
        async with self._changed:
            try:
                return await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            except TimeoutError:
                recent = [(c.method, c.status, str(c.params)[:120]) for c in self.calls[-8:]]
                raise AssertionError(
                    f"timed out waiting for {what or predicate}; last calls: {recent}"
                ) from None

    # ----------------------------------------------------------------- internals
    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _queue(self, payload: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), **payload}
        if self._deliveries is not None:
            self._deliveries.put_nowait(update)
            return
        self._updates.append(update)
        self._notify()

    # ----------------------------------------------------------------- webhook delivery
    def _start_deliveries(self, params: dict[str, Any]) -> None:
        self._stop_deliveries()
        self._deliveries = asyncio.Queue()
        for update in self._updates:  # pending updates go to the webhook now
            self._deliveries.put_nowait(update)
        self._updates = []
        connections = int(params.get("max_connections") or 40)
        self._deliverers = [
            asyncio.get_running_loop().create_task(self._deliver(params["url"], params.get("secret_token")))
            for _ in range(connections)
        ]

    def _stop_deliveries(self) -> None:
        for task in self._deliverers:
            task.cancel()
        self._deliverers, self._deliveries = [], None

    async def _deliver(self, url: str, secret: str | None) -> None:
        """One delivery connection: POST queued updates one after another, keep-alive."""
        assert self._deliveries is not None
        queue = self._deliveries
        parts = urlsplit(url)
        head = (
            f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nConnection: keep-alive\r\n"
            + (f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\n" if secret else "")
        )
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            while True:
                update = await queue.get()
                body = json.dumps(update, ensure_ascii=False).encode()
                status = 0
                for _ in range(2):  # once more on a fresh connection if the kept one was closed
                    try:
                        if writer is None:
                            reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
                        assert reader is not None
                        writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
                        status, keep_alive = await _read_response(reader)
                        if not keep_alive:
                            writer.close()
                            writer = None
                        break
                    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
                        if writer is not None:
                            writer.close()
                        writer = None
                self.delivered.append((update["update_id"], status))
        finally:
            if writer is not None:
                writer.close()

    def _notify(self) -> None:
        if self._changed is None:
            return

        async def notify() -> None:
            async with self._changed:
                self._changed.notify_all()

        asyncio.get_running_loop().create_task(notify())

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    return
                verb, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                answer = await self._dispatch(verb, target, headers, body)
                if answer is None or writer.is_closing():  # dropped, or closed by go_down meanwhile
                    return
                status, payload = answer
                data = json.dumps(payload, ensure_ascii=False).encode()
                writer.write(
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                    "Connection: keep-alive\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _dispatch(
        self, verb: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]] | None:
        """(status, payload) of one request, or None to close its connection unanswered."""
        path, _, query = target.partition("?")
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", path)
        if not match:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, method = match.groups()
        if token != self.token:  # recorded too, so tests can see a bad token was tried
            self.calls.append(Call(method=method, params={}, at=time.monotonic(), status=401))
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        params = self._params(headers.get("content-type", ""), body, query)
        call = Call(method=method, params=params, at=time.monotonic())
        self.calls.append(call)
        self._notify()  # waiters may watch for a call to start (a long poll returns much later)
        pending = self._failures.get(method)
        failure = Failure(drop=True) if self._down else pending.pop(0) if pending else None
        if failure is not None and failure.drop and not failure.processed:
            call.status, call.dropped = 0, True
            self._notify()
            return None
        try:
            if failure is not None and not failure.drop:
                raise self._failure_error(failure)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            call.result = await handler(params)
            payload: dict[str, Any] = {"ok": True, "result": call.result}
        except ApiError as err:
            call.status = err.code
            payload = {"ok": False, "error_code": err.code, "description": err.description}
            if err.parameters:
                payload["parameters"] = err.parameters
        call.dropped = failure is not None and failure.drop
        if self.on_call is not None:
            self.on_call(call)
        self._notify()
        return None if call.dropped else (call.status, payload)

    @staticmethod
    def _failure_error(failure: Failure) -> ApiError:
        if failure.status == 429:
            return ApiError(
                429,
                f"Too Many Requests: retry after {failure.retry_after}",
                {"retry_after": failure.retry_after},
            )
        return ApiError(failure.status, HTTPStatus(failure.status).phrase)

    @staticmethod
    def _params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
        raw: dict[str, Any] = dict(parse_qsl(query))
        if body:
            if content_type.startswith("application/json"):
                raw.update(json.loads(body))
            else:
                raw.update(parse_qsl(body.decode(), keep_blank_values=True))
        params: dict[str, Any] = {}
        for name, value in raw.items():
            if isinstance(value, str) and name in _JSON_PARAMS:
                value = json.loads(value)
            elif isinstance(value, str) and name in _INT_PARAMS:
                value = int(value)
            elif isinstance(value, str) and name in _FLOAT_PARAMS:
                value = float(value)
            params[name] = value
        return params

    def _chat(self, chat_id: int) -> dict[str, Any]:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    @staticmethod
    def _text(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        source = params.get("text", "")
        if params.get("parse_mode") == "HTML":
            text, entities = parse_html(source)
        else:
            text, entities = source, params.get("entities") or []
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return text, entities

    @staticmethod
    def _check_markup(markup: dict[str, Any] | None) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    # ----------------------------------------------------------------- Bot API methods
    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        self._stop_deliveries()
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        if not str(params.get("url", "")).startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = params
        self._start_deliveries(params)
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        self.commands = params.get("commands", [])
        return True

    async def _api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands

    async def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat(params["chat_id"])
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        if len(params.get("text", "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _api_answerInlineQuery(self, params: dict[str, Any]) -> bool:
        results = params.get("results", [])
        if len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = [r["id"] for r in results]
        if len(set(ids)) != len(ids) or any(len(i.encode()) > 64 for i in ids):
            raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
        for result in results:
            content = result["input_message_content"]
            self._text({"text": content["message_text"], "parse_mode": content.get("parse_mode")})
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = params.get("offset", 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        limit = params.get("limit", 100)
        timeout = params.get("timeout", 0.0)
        assert self._changed is not None
        if not self._updates and timeout > 0:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._updates)), timeout)
        return self._updates[:limit]

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params["chat_id"])
        text, entities = self._text(params)
        self._check_markup(params.get("reply_markup"))
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "from": BOT_USER,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        reply = (params.get("reply_parameters") or {}).get("message_id")
        if reply and (chat["id"], reply) in self.messages:
            message["reply_to_message"] = self.messages[(chat["id"], reply)]
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def _own_message(self, params: dict[str, Any]) -> tuple[tuple[int, int], dict[str, Any]]:
        """The bot's own message an edit names, with its key; Telegram's error if there is none."""
        key = (params["chat_id"], params["message_id"])
        old = self.messages.get(key)
        if old is None or old["from"]["id"] != BOT_USER["id"]:
            raise ApiError(400, "Bad Request: message to edit not found")
        return key, old

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        key, old = self._own_message(params)
        markup = params.get("reply_markup")
        self._check_markup(markup)
        if markup == old.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        message = {**old, "edit_date": int(time.time())}
        message.pop("reply_markup", None)
        if markup:
            message["reply_markup"] = markup
        self.messages[key] = message
        return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        key, old = self._own_message(params)
        text, entities = self._text(params)
        self._check_markup(params.get("reply_markup"))
        markup = params.get("reply_markup")
        if text == old["text"] and entities == old.get("entities", []) and markup == old.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message",
            )
        message = {**old, "text": text, "edit_date": int(time.time())}
        message.pop("entities", None)
        message.pop("reply_markup", None)
        if entities:
            message["entities"] = entities
        if markup:
            message["reply_markup"] = markup
        self.messages[key] = message
        return message
