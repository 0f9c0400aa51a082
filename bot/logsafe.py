"""Logging set-up, and customers' data and secrets kept out of the logs.

The application logs conversations by digest (:func:`customer_ref`), never by phone number or
chat id, and masks
secrets (:func:`bot.settings.mask`); libraries we do not control are raised to WARNING because
their detail carries exactly what ours leaves out. ``OZBOT_LOG_FORMAT=json`` writes one JSON
object a line (``time``, ``level``, ``logger``, ``message``, and ``exc_info`` with a traceback)
for a log collector; the text is the same message, so the same masking holds.

The digest is an HMAC keyed by ``OZBOT_LOG_KEY`` (or, unset, by a key the processes keep in
the store: :func:`bot.compose.compose` sets it with :func:`use_log_key`). A plain hash of
``"whatsapp:<number>"`` can be reversed by trying every Brazilian mobile number (about an hour
and a half on one core); a keyed one cannot be tried without the key, which logs never carry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

__all__ = [
    "QUIET_LOGGERS",
    "configure_logging",
    "customer_ref",
    "json_formatter",
    "quiet_noisy_loggers",
    "redact",
    "use_log_key",
]

# The digests' key, process-wide (every layer logs the same digest of a conversation). Until
# the composition root sets it (a CLI command that composes nothing), a random one: digests
# still name nobody, they only do not match other processes'.
_log_key: list[bytes] = []
# The digests given so far, by key: a turn names its conversation several times (the webhook,
# the engine, the channel), and an HMAC with its base32 costs ~15 us of CPU each time. Bounded:
# emptied when full, and whenever the key changes.
_digests: dict[str, str] = {}
_DIGESTS_KEPT = 8192


def use_log_key(secret: str) -> None:
    """Key the digests :func:`customer_ref` gives from now on with ``secret``."""
    _log_key[:] = [hashlib.sha256(b"ozbot.log-digest\0" + secret.encode()).digest()]
    _digests.clear()


def customer_ref(key: str) -> str:
    """The name of a conversation (``"whatsapp:5511..."``) in logs: 12 base32 characters of an
    HMAC of it, stable for one log key, useless to anyone without it (LGPD: keys hold phone
    numbers and chat ids). Every use goes through here, so a conversation's lines can be
    followed from the webhook to the engine. (Base32, not hex: twelve hex digits are all
    decimal one time in 300, and :func:`redact` would take them for a phone number.)"""
    digest = _digests.get(key)
    if digest is not None:
        return digest
    if not _log_key:
        _log_key.append(secrets.token_bytes(32))
    mac = hmac.new(_log_key[0], key.encode(), hashlib.sha256).digest()
    digest = base64.b32encode(mac).decode()[:12].lower()
    if len(_digests) >= _DIGESTS_KEPT:
        _digests.clear()
    _digests[key] = digest
    return digest


# Libraries that log customer data or secrets below WARNING: httpx every request URL at INFO
# (Telegram's carry the bot token), PTB every call's parameters at DEBUG (chat ids, texts),
# transitions narrates every state change at INFO: noise, not news, in a server's log.
QUIET_LOGGERS = ("httpx", "httpcore", "telegram", "transitions")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def quiet_noisy_loggers() -> None:
    """Raise those libraries' loggers to WARNING, whatever level the root logger has (``-v``)."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


# What a phone number (10 to 15 digits, a + before them or not) or a CPF (formatted, or 11
# digits) looks like in text; each becomes ``***`` and its last two digits. Our own lines never
# carry them; a library's error chained under ours (Twilio's "The 'To' number whatsapp:+55...
# is not valid") is printed whole with a traceback: this is the last guard.
_NUMBERS = re.compile(r"(?<![\w.])\+?\d{10,15}(?![\w])|\b\d{3}\.\d{3}\.\d{3}-\d{2}\b")


def redact(text: str) -> str:
    """``text`` with phone numbers and CPFs masked to their last two digits."""
    return _NUMBERS.sub(lambda found: "***" + found.group()[-2:], text)


class _Redacting(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class _RedactingJson(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def json_formatter() -> logging.Formatter:
    """One JSON object a line. Only the record's standard fields and what a call passes in
    ``extra`` appear: the message is the one the text format shows."""
    return _RedactingJson(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
    )


def configure_logging(
    *, verbose: bool = False, log_format: str = "text", stream: TextIO | None = None
) -> None:
    """Log to ``stream`` (stderr) at INFO (DEBUG with ``verbose``) in ``log_format`` ("text" or
    "json"), replacing any handler set before; the noisy libraries stay at WARNING either way.
    Both formats pass what they write through :func:`redact`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter() if log_format == "json" else _Redacting(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    quiet_noisy_loggers()  # even with -v: their detail carries phone numbers and tokens
