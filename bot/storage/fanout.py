"""The subscribers of one process, by topic: what both adapters' news (bot/storage/news.py)
hand each message to."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from bot.storage.news import MAX_NEWS, Subscriber

__all__ = ["Fanout", "encode_news"]

log = logging.getLogger(__name__)


def encode_news(topic: str, message: dict[str, Any]) -> str:
    """The wire form of a message: ``{"topic", "message"}`` as compact JSON."""
    text = json.dumps({"topic": topic, "message": message}, separators=(",", ":"))
    if len(text.encode()) > MAX_NEWS:
        raise ValueError(f"news on {topic} is {len(text.encode())} bytes, over {MAX_NEWS}")
    return text


class Fanout:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscriber]] = {}

    def __bool__(self) -> bool:
        return any(self._subscribers.values())

    def add(self, topic: str, subscriber: Subscriber) -> Callable[[], None]:
        self._subscribers.setdefault(topic, []).append(subscriber)

        def remove() -> None:
            listeners = self._subscribers.get(topic, [])
            if subscriber in listeners:
                listeners.remove(subscriber)

        return remove

    def deliver(self, wire: str) -> None:
        """Hand a message in its wire form to its topic's subscribers; one that fails is
        logged, the others still hear it; an unreadable message is dropped."""
        try:
            data = json.loads(wire)
            topic, message = data["topic"], data["message"]
        except (ValueError, KeyError, TypeError):
            log.warning("dropped unreadable news")
            return
        for subscriber in list(self._subscribers.get(topic, ())):
            try:
                subscriber(message)
            except Exception:  # one broken stream must not cost the others their news
                log.exception("a news subscriber on %s failed", topic)
