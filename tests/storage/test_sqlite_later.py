"""SQLite folds the clearing of a finished inbox entry (its sent replies and its lock with it)
into the next write transaction: one transaction fewer per turn when another write comes within
``fold_within`` (bot/storage/sqlite/connection.py), and never a guarantee less: the clear still
lands, on its own when no write comes, at close at the latest; a write that fails beside it
undoes only itself; a cancelled clear lets its conversation go only once its lock was dropped.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.conversation import Conversation, TranscriptEntry
from bot.errors import LockTimeout
from bot.messages import Inbound
from bot.storage.locks import LeaseLost
from bot.storage.sqlite import SqliteStore

OWNER, LEASE = "host-a:11:aaaa", 30.0


def message(contact: str, pid: str) -> Inbound:
    return Inbound(channel="telegram", contact=contact, text="oi", provider_id=pid)


def turn(contact: str, state: str = "asked") -> Conversation:
    saved = Conversation.new("telegram", contact)
    saved.flow, saved.state = "sales", state
    return saved


def locks(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT key FROM locks ORDER BY key")]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    # a clear waits as long as the test likes for a write to share its transaction
    opened = SqliteStore(tmp_path / "ozbot.db", fold_within=60)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def commits(store: SqliteStore) -> list[str]:
    """The transactions the store's connection commits from now on, as SQLite runs them."""
    ran: list[str] = []
    db = store._connection._db  # what the adapter runs, statement by statement
    assert db is not None
    db.set_trace_callback(lambda sql: ran.append(sql) if sql == "COMMIT" else None)
    return ran


async def a_turn_waiting_for_its_clear(store: SqliteStore, contact: str) -> asyncio.Task[None]:
    accepted = await store.inbox_accept(message(contact, f"tg:{contact}"), OWNER, LEASE, lock=True)
    assert accepted is not None and accepted.held is not None
    assert await store.commit_turn(turn(contact), [TranscriptEntry("bot", "olá")], f"tg:{contact}")
    clear = asyncio.create_task(store.inbox_done(accepted.id, OWNER, held=accepted.held))
    await asyncio.sleep(0.05)
    assert not clear.done()
    return clear


async def test_a_finished_entry_is_cleared_in_the_next_write_transaction(
    store: SqliteStore, tmp_path: Path
) -> None:
    clear = await a_turn_waiting_for_its_clear(store, "1")
    assert await store.inbox_pending() == 1  # (reads fold nothing)
    ran = commits(store)
    accepted = await store.inbox_accept(message("2", "tg:2"), OWNER, LEASE, lock=True)
    assert accepted is not None and accepted.held is not None
    assert len(ran) == 1  # the other conversation's entry and the clear: one transaction
    await asyncio.wait_for(clear, 1)
    assert await store.inbox_pending() == 1  # the second's only
    assert locks(tmp_path / "ozbot.db") == ["telegram:2"]  # the first's lock dropped with it
    async with store.lock("telegram:1", timeout=1):  # and let go in this process
        pass
    second = asyncio.create_task(store.inbox_done(accepted.id, OWNER, held=accepted.held))
    await asyncio.sleep(0)
    assert await store.commit_turn(turn("3"), [], "tg:3")  # folds the second's clear
    await asyncio.wait_for(second, 1)
    assert locks(tmp_path / "ozbot.db") == []


async def test_a_finished_entry_is_cleared_on_its_own_when_no_write_comes(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "ozbot.db", fold_within=0.02)
    await store.open()
    try:
        accepted = await store.inbox_accept(message("1", "tg:1"), OWNER, LEASE, lock=True)
        assert accepted is not None and accepted.held is not None
        await asyncio.wait_for(store.inbox_done(accepted.id, OWNER, held=accepted.held), 5)
        assert await store.inbox_pending() == 0
        assert locks(tmp_path / "ozbot.db") == []
    finally:
        await store.close()


async def test_a_commit_refused_beside_a_clear_undoes_only_itself(
    store: SqliteStore, tmp_path: Path
) -> None:
    assert await store.commit_turn(turn("3"), [], "tg:dup")
    clear = await a_turn_waiting_for_its_clear(store, "1")
    # a re-delivered message's commit: refused (its id is recorded), the clear lands all the same
    assert not await store.commit_turn(turn("3", "again"), [TranscriptEntry("bot", "x")], "tg:dup")
    await asyncio.wait_for(clear, 1)
    assert await store.inbox_pending() == 0
    saved = await store.load("telegram:3")
    assert saved is not None and saved.state == "asked"

    clear = await a_turn_waiting_for_its_clear(store, "4")
    async with store.lock("telegram:5"):
        with sqlite3.connect(tmp_path / "ozbot.db") as db:  # taken over behind its back
            db.execute("UPDATE locks SET owner = 'host-x:1:xxxx' WHERE key = 'telegram:5'")
        with pytest.raises(LeaseLost):
            await store.commit_turn(turn("5"), [TranscriptEntry("bot", "x")], "tg:5")
    await asyncio.wait_for(clear, 1)
    assert await store.inbox_pending() == 0
    assert await store.load("telegram:5") is None
    assert await store.load("telegram:4") is not None


async def test_a_clear_that_fails_fails_its_caller_only(store: SqliteStore) -> None:
    clear = await a_turn_waiting_for_its_clear(store, "1")
    broken = asyncio.ensure_future(
        store._connection.later(  # a later write that fails, as a full disk would
            "breaking", lambda db: db.execute("INSERT INTO no_such_table VALUES (1)")
        )
    )
    assert await store.commit_turn(turn("2"), [TranscriptEntry("bot", "olá")], "tg:2")
    await asyncio.wait_for(clear, 1)
    with pytest.raises(Exception, match="SQLite breaking failed"):
        await broken
    assert await store.inbox_pending() == 0
    assert await store.load("telegram:2") is not None


async def test_a_cancelled_clear_lets_its_conversation_go_once_its_lock_was_dropped(
    store: SqliteStore, tmp_path: Path
) -> None:
    clear = await a_turn_waiting_for_its_clear(store, "1")
    clear.cancel()
    with pytest.raises(asyncio.CancelledError):
        await clear
    with pytest.raises(LockTimeout):  # the drop has not run: still held here
        async with store.lock("telegram:1", timeout=0.1):
            pytest.fail("taken before the lock of the cancelled clear was dropped")
    assert await store.commit_turn(turn("2"), [], "tg:2")  # a write: the clear runs in it
    async with store.lock("telegram:1", timeout=1):
        assert locks(tmp_path / "ozbot.db") == ["telegram:1"]
    assert await store.inbox_pending() == 0


async def test_closing_runs_the_clears_still_waiting(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "ozbot.db", fold_within=60)
    await store.open()
    clear = await a_turn_waiting_for_its_clear(store, "1")
    await store.close()
    await asyncio.wait_for(clear, 1)
    reopened = SqliteStore(tmp_path / "ozbot.db")
    await reopened.open()
    try:
        assert await reopened.inbox_pending() == 0
        assert locks(tmp_path / "ozbot.db") == []
    finally:
        await reopened.close()
