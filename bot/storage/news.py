"""The news port: small messages every process on the database hears, at once.

A part of :class:`bot.storage.base.Store` for what must reach the process that holds a
long-lived stream, whichever process produced it: the agents' live queue (a conversation was
queued, claimed, answered) and a web-chat visitor's replies. On PostgreSQL it is LISTEN/NOTIFY
(one listening connection per process, reconnected when it drops; a message published while a
process was reconnecting is lost to it, which is why the console's pages also refetch on every
reconnect); on SQLite, whose processes share a file but no channel, the subscribers of this
process only. ``tests/storage/test_news.py`` is its contract suite.

Messages are JSON objects of at most :data:`MAX_NEWS` bytes (PostgreSQL's limit is 8000).
Subscribers are plain callbacks run on the event loop: they must not block.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_NEWS", "NewsStore", "Subscriber"]

MAX_NEWS = 7000
Subscriber = Callable[[dict[str, Any]], None]


class NewsStore(ABC):
    @abstractmethod
    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Tell every process's subscribers to ``topic`` (this one's included) ``message``.
        ValueError when its JSON is longer than :data:`MAX_NEWS` bytes; StorageError when the
        database cannot take it."""

    @abstractmethod
    async def subscribe(self, topic: str, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with each message on ``topic`` from now on (once this returns,
        nothing published after is missed, connection trouble aside); returns the unsubscribe
        function."""
