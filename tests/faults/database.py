"""The database a fault test's servers share (a SQLite file, or a PostgreSQL database of its
own), and what the test reads back from it: whether the inbox and outbox emptied, and the order
each conversation's turns committed in (``processed_messages``, stamped at each commit, under
the conversation's lock)."""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bot.storage.base import Store
from bot.storage.migrations import MIGRATIONS
from bot.storage.postgres import PostgresStore
from bot.storage.sqlite import SqliteStore
from tests.faults.support import Customer, fresh_postgres
from tests.support.net import free_port

__all__ = ["Database", "Report", "database", "next_chat"]

_chats = itertools.count(int(time.time()) % 10_000 * 100_000 + 7_000_000_000)


def next_chat() -> int:
    """A Telegram chat id no other run of the suite used (the sandbox outlives a test)."""
    return next(_chats)


@dataclass(frozen=True)
class Report:
    lost: int  # acknowledged messages whose turn never committed
    out_of_order: int  # conversations whose turns committed in another order than sent


class Database:
    """``url`` for the servers' ``DATABASE_URL``; ``port`` for their HTTP (one per test)."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind, self.url = kind, url
        self.port = free_port()
        # servers from an older tree (OZBOT_FAULT_SERVER_TREE, one from before the outbox)
        # refuse a schema newer than theirs
        self.legacy = bool(os.environ.get("OZBOT_FAULT_SERVER_TREE"))
        names = [m.name for m in MIGRATIONS]
        schema = MIGRATIONS[: names.index("outbox")] if self.legacy else MIGRATIONS
        self.store: Store = (
            SqliteStore(url.removeprefix("sqlite:///"), migrations=schema)
            if kind == "sqlite"
            else PostgresStore(url, max_size=2, migrations=schema)
        )
        self.leftover = (-1, -1)

    async def settled(self) -> bool:
        """Whether nothing is left to run or to send (the inbox and the outbox are empty)."""
        outbox = 0 if self.legacy else await self.store.outbox_backlog()
        self.leftover = (await self.store.inbox_pending(), outbox)
        return self.leftover == (0, 0)

    def committed(self, key: str) -> list[str]:
        """The provider ids of the conversation's committed turns, in commit order."""
        query = "SELECT provider_id FROM processed_messages WHERE key = {} ORDER BY at"
        if self.kind == "sqlite":
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as db:
                return [row[0] for row in db.execute(query.format("?"), (key,))]
        with psycopg.connect(self.url) as conn:
            return [row[0] for row in conn.execute(query.format("%s").encode(), (key,))]

    async def report(self, customers: Sequence[Customer]) -> Report:
        lost = out_of_order = 0
        for customer in customers:
            sent = [f"tg:{update['update_id']}" for update in customer.updates]
            done = self.committed(customer.key)
            lost += len(set(sent) - set(done))
            if [pid for pid in done if pid in sent] != [pid for pid in sent if pid in done]:
                out_of_order += 1
        return Report(lost=lost, out_of_order=out_of_order)


@asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[Database]:
    if kind == "sqlite":
        chosen = Database(kind, f"sqlite:///{tmp_path / 'ozbot.db'}")
        await chosen.store.open()
        try:
            yield chosen
        finally:
            await chosen.store.close()
        return
    async with fresh_postgres() as url:
        chosen = Database(kind, url)
        await chosen.store.open()
        try:
            yield chosen
        finally:
            await chosen.store.close()
