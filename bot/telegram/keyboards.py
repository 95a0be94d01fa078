"""The buttons under an answer and the callback data behind them.

Callback data is ``<action>:<ref>:<page>:<signature>`` (about 26 bytes, well under Telegram's
64): ``ref`` names the question in the journal, and the signature (an HMAC keyed by the bot's
secret) lets the bot tell its own buttons from forged ones without keeping state, so a button keeps
working on any replica and after a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit

from bot.answer import MAX_PAGE

MAX_CALLBACK_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA
_DATA = re.compile(r"^([mud]):([A-Za-z0-9_-]{11}):(\d{1,3}):([A-Za-z0-9_-]{8})$")


class Action(StrEnum):
    MORE = "m"
    UP = "u"
    DOWN = "d"


class InvalidButton(ValueError):
    """Callback data this bot did not make (forged, corrupted or from an older format)."""


@dataclass(frozen=True, slots=True)
class ButtonPress:
    action: Action
    ref: str
    page: int


def new_ref() -> str:
    """A fresh question reference: 11 URL-safe characters (64 random bits)."""
    return secrets.token_urlsafe(8)


class ButtonCodec:
    """Encodes and checks callback data with an HMAC keyed by ``secret``."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"wikiqa-buttons:" + secret).digest()

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:6]
        return base64.urlsafe_b64encode(digest).decode()

    def encode(self, press: ButtonPress) -> str:
        if not 1 <= press.page <= MAX_PAGE:
            raise ValueError(f"page {press.page} is outside 1..{MAX_PAGE}")
        payload = f"{press.action.value}:{press.ref}:{press.page}"
        data = f"{payload}:{self._sign(payload)}"
        if not _DATA.match(data) or len(data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data {data!r} is not valid")
        return data

    def decode(self, data: str | None) -> ButtonPress:
        match = _DATA.match(data or "")
        if not match:
            raise InvalidButton("callback data has the wrong shape")
        action, ref, page, signature = match.groups()
        if not hmac.compare_digest(signature, self._sign(f"{action}:{ref}:{page}")):
            raise InvalidButton("callback data has a bad signature")
        if not 1 <= int(page) <= MAX_PAGE:
            raise InvalidButton("callback data has a page out of range")
        return ButtonPress(Action(action), ref, int(page))

    def answer_keyboard(self, ref: str, page: int, *, has_more: bool) -> InlineKeyboardMarkup:
        """ "More" (when there are further quotes) above 👍 / 👎."""
        rows = []
        if has_more and page < MAX_PAGE:
            more = ButtonPress(Action.MORE, ref, page + 1)
            rows.append([InlineKeyboardButton("More ▸", callback_data=self.encode(more))])
        rows.append(
            [
                InlineKeyboardButton("👍", callback_data=self.encode(ButtonPress(Action.UP, ref, page))),
                InlineKeyboardButton("👎", callback_data=self.encode(ButtonPress(Action.DOWN, ref, page))),
            ]
        )
        return InlineKeyboardMarkup(rows)
