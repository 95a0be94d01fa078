"""The bot token kept out of the logs: it is part of every Bot API URL, which HTTP clients log."""

from __future__ import annotations

import logging
import traceback

_SECRETS: set[str] = set()
_factory_installed = False


def redact(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "<token>")
    return text


def hide_in_logs(secret: str) -> None:
    """Replace ``secret`` by ``<token>`` in every log record from now on, whoever logs it.

    The Bot API puts the token in every request URL, which HTTP clients log and put in their
    exception texts; a record factory catches those and anything else before any handler sees it.
    """
    global _factory_installed
    if len(secret) >= 8:
        _SECRETS.add(secret)
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:
            return record
        if any(secret in message for secret in _SECRETS):
            record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            if any(secret in text for secret in _SECRETS):
                record.exc_text = redact(text)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True
