"""The SQLite adapter when another connection holds the file's write lock: its calls wait in the
database thread, never on the event loop, and keep their order."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.conversation import Conversation, TranscriptEntry
from bot.storage.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "ozbot.db")
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
def other(store: SqliteStore) -> Iterator[sqlite3.Connection]:
    """Another connection to the file (as another process would have)."""
    db = sqlite3.connect(store.path, isolation_level=None)
    yield db
    db.close()


async def test_a_write_waits_for_another_writer_without_holding_up_the_loop(
    store: SqliteStore, other: sqlite3.Connection
) -> None:
    convo = Conversation.new("whatsapp", "5511999990000")
    other.execute("BEGIN IMMEDIATE")

    commit = asyncio.create_task(
        store.commit_turn(convo, [TranscriptEntry("customer", "oi")], provider_id="wamid.1")
    )
    seen = asyncio.create_task(store.seen("wamid.1"))  # asked after the commit
    # Had the store waited for the lock on the event loop, this sleep could not end while
    # the lock is held (and the lock is released only below, from this same loop).
    await asyncio.sleep(0.05)
    assert not commit.done()
    assert not seen.done()  # queued behind the commit, not answered before it

    other.execute("COMMIT")
    assert await commit is True
    assert await seen is True
    assert await store.load(convo.key) is not None
    assert [e.text for e in await store.transcript(convo.key)] == ["oi"]


async def test_a_lock_whose_take_was_cancelled_while_waiting_leaves_no_lease(
    store: SqliteStore, other: sqlite3.Connection
) -> None:
    other.execute("BEGIN IMMEDIATE")

    async def turn() -> None:
        async with store.lock("whatsapp:1"):
            pytest.fail("the lock was taken while the file was locked")

    task = asyncio.create_task(turn())
    await asyncio.sleep(0.05)  # its lease insert now waits in the database thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    other.execute("COMMIT")

    # The insert then went through; the release queued behind it must have removed it.
    await store.seen("anything")  # queued after both
    assert other.execute("SELECT count(*) FROM locks").fetchone() == (0,)
    async with asyncio.timeout(5):
        async with store.lock("whatsapp:1", timeout=1):
            pass
