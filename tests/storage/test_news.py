"""The NewsStore contract: a message published reaches every subscriber of its topic, in order;
on PostgreSQL, through LISTEN/NOTIFY, the subscribers of another store (another process's) on
the same schema too, and nobody's on another schema."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import psycopg
import pytest

from bot.storage.base import Store
from bot.storage.postgres import PostgresStore


class Heard(list[dict[str, Any]]):
    """A subscriber that keeps what it heard; ``await heard.count(n)`` waits for n messages."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def __call__(self, message: dict[str, Any]) -> None:
        self.append(message)
        self.changed.set()

    async def reach(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self) < count:
                self.changed.clear()
                await self.changed.wait()


async def test_subscribers_hear_their_topic_in_order_until_they_leave(store: Store) -> None:
    heard = Heard()
    other = Heard()
    leave = await store.subscribe("console", heard)
    await store.subscribe("webchat", other)
    for n in range(3):
        await store.publish("console", {"n": n})
    await heard.reach(3)
    assert heard == [{"n": 0}, {"n": 1}, {"n": 2}] and other == []
    leave()
    await store.publish("console", {"n": 3})
    await store.publish("webchat", {"n": 4})
    await other.reach(1)
    assert heard == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_a_message_too_long_for_the_database_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="bytes"):
        await store.publish("webchat", {"text": "x" * 8000})


async def test_one_subscriber_failing_does_not_stop_the_others(store: Store) -> None:
    heard = Heard()

    def broken(message: dict[str, Any]) -> None:
        raise RuntimeError("a closed stream")

    await store.subscribe("console", broken)
    await store.subscribe("console", heard)
    await store.publish("console", {"kind": "queued"})
    await heard.reach(1)


@pytest.mark.postgres
async def test_another_process_on_the_schema_hears_it_and_no_other_schema_does(
    postgres_url: str, postgres_schema: str
) -> None:
    """Two stores on one schema are two processes' (each its own pool and listener); SQLite's
    news stays in its process, so this part of the contract is PostgreSQL's alone."""
    mine, theirs = (PostgresStore(postgres_url, schema=postgres_schema, max_size=2) for _ in "12")
    elsewhere = PostgresStore(postgres_url, schema=f"{postgres_schema}_x", max_size=1)
    for store in (mine, theirs, elsewhere):
        await store.open()
    try:
        heard = Heard()
        stray = Heard()
        await theirs.subscribe("console", heard)
        await elsewhere.subscribe("console", stray)
        await mine.publish("console", {"kind": "claimed", "ticket": 7})
        await heard.reach(1)
        assert heard == [{"kind": "claimed", "ticket": 7}]
        await asyncio.sleep(0.2)
        assert stray == []
    finally:
        for store in (mine, theirs, elsewhere):
            await store.close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {postgres_schema}_x CASCADE".encode())


@pytest.mark.postgres
async def test_the_listener_comes_back_when_its_connection_drops(
    postgres_url: str, postgres_schema: str
) -> None:
    store = PostgresStore(postgres_url, schema=postgres_schema, max_size=2)
    await store.open()
    try:
        heard = Heard()
        await store.subscribe("console", heard)
        channel = store._news.channel  # this store's listener only: other suites share the server
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = %s",
                [f'LISTEN "{channel}"'],
            ).fetchall()
        assert killed == [(True,)]
        async with asyncio.timeout(10):
            while not heard:  # what is published while it reconnects is lost: try again
                await store.publish("console", {"kind": "queued"})
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.3):
                        await heard.reach(1)
        assert heard[0] == {"kind": "queued"}
    finally:
        await store.close()
