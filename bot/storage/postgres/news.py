"""News on PostgreSQL (bot/storage/news.py): NOTIFY on a pool connection, LISTEN on one
connection of its own per process, opened at the first subscription and reconnected (after a
second) when it drops. Every process of one schema shares a channel (a digest of the schema's
name: channel names are identifiers, at most 63 bytes)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql

from bot.storage.fanout import Fanout, encode_news
from bot.storage.news import Subscriber
from bot.storage.postgres.connection import Connections, translate

__all__ = ["PostgresNews"]

log = logging.getLogger(__name__)

RECONNECT = 1.0  # seconds between attempts to listen again


class PostgresNews:
    def __init__(self, connections: Connections) -> None:
        self._connections = connections
        digest = hashlib.blake2b(connections.namespace.encode(), digest_size=8).hexdigest()
        self.channel = f"ozbot_{digest}"
        self._fanout = Fanout()
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        wire = encode_news(topic, message)
        with translate("publishing news"):
            async with self._connections.connection() as conn:
                await conn.execute("SELECT pg_notify(%s, %s)", [self.channel, wire])

    async def subscribe(self, topic: str, subscriber: Subscriber) -> Callable[[], None]:
        remove = self._fanout.add(topic, subscriber)
        if self._task is None or self._task.done():
            self._listening = asyncio.Event()
            self._task = asyncio.create_task(self._listen(), name="ozbot-news")
        # from here on nothing published is missed (unless the connection cannot be had)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._listening.wait()
        return remove

    async def _listen(self) -> None:
        while True:
            try:
                conn = await AsyncConnection.connect(self._connections.dsn, autocommit=True)
                async with conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self._listening.set()
                    async for notify in conn.notifies():
                        self._fanout.deliver(notify.payload)
            except psycopg.Error as exc:
                self._listening.clear()
                log.warning(
                    "lost PostgreSQL's news connection (%s); listening again in %gs",
                    type(exc).__name__,
                    RECONNECT,
                )
            await asyncio.sleep(RECONNECT)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
