"""Keep customers' data and secrets out of the logs of libraries we do not control."""

from __future__ import annotations

import logging

__all__ = ["QUIET_LOGGERS", "quiet_noisy_loggers"]

# Libraries that log customer data or secrets below WARNING: httpx every request URL at INFO
# (Telegram's carry the bot token), PTB every call's parameters at DEBUG (chat ids, texts),
# transitions narrates every state change at INFO: noise, not news, in a server's log.
QUIET_LOGGERS = ("httpx", "httpcore", "telegram", "transitions")


def quiet_noisy_loggers() -> None:
    """Raise those libraries' loggers to WARNING, whatever level the root logger has (``-v``)."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
