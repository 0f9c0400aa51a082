"""What only the SQLite adapter has: the lease rows behind its cross-process locks."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from bot.errors import LockTimeout
from bot.storage.sqlite import SqliteStore


def lease_of(path: Path, key: str) -> tuple[str, float] | None:
    with sqlite3.connect(path) as db:
        row = db.execute("SELECT owner, expires_at FROM locks WHERE key = ?", (key,)).fetchone()
    return None if row is None else (row[0], row[1])


def plant_lease(path: Path, key: str, owner: str, expires_at: float) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)", (key, owner, expires_at)
        )


async def test_a_live_lease_of_another_process_is_respected(tmp_path: Path) -> None:
    path = tmp_path / "ozbot.db"
    store = SqliteStore(path)
    await store.open()
    try:
        plant_lease(path, "whatsapp:1", "4242:other", time.time() + 600)

        with pytest.raises(LockTimeout):
            async with store.lock("whatsapp:1", timeout=0.1):
                pytest.fail("took a lease another process holds")
        owner, expires_at = lease_of(path, "whatsapp:1") or ("", 0.0)
        assert owner == "4242:other"
        assert expires_at > time.time() + 500  # untouched
    finally:
        await store.close()


async def test_an_expired_lease_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "ozbot.db"
    store = SqliteStore(path)
    await store.open()
    try:
        plant_lease(path, "whatsapp:1", "4242:dead", time.time() - 1)

        async with store.lock("whatsapp:1", timeout=1):
            owner, _ = lease_of(path, "whatsapp:1") or ("", 0.0)
            assert owner != "4242:dead"

        assert lease_of(path, "whatsapp:1") is None  # released: the row is gone
    finally:
        await store.close()


async def test_release_leaves_a_lease_that_is_no_longer_ours(tmp_path: Path) -> None:
    path = tmp_path / "ozbot.db"
    store = SqliteStore(path)
    await store.open()
    try:
        async with store.lock("whatsapp:1"):
            # As if our lease had expired and another process had taken it over meanwhile.
            with sqlite3.connect(path) as db:
                db.execute("UPDATE locks SET owner = '4242:other' WHERE key = 'whatsapp:1'")

        assert lease_of(path, "whatsapp:1") is not None
        assert (lease_of(path, "whatsapp:1") or ("", 0))[0] == "4242:other"
    finally:
        await store.close()


async def test_held_leases_are_renewed_while_the_turn_runs(tmp_path: Path) -> None:
    path = tmp_path / "ozbot.db"
    store = SqliteStore(path, lease=0.3)  # renewed every 0.1 s
    await store.open()
    try:
        async with store.lock("whatsapp:1"):
            _, first = lease_of(path, "whatsapp:1") or ("", 0.0)
            renewed = first
            for _ in range(100):  # a long turn: up to 5 s, far past the 0.3 s lease
                await asyncio.sleep(0.05)
                _, renewed = lease_of(path, "whatsapp:1") or ("", 0.0)
                if renewed > first:
                    break
            assert renewed > first
    finally:
        await store.close()


async def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dirs" / "ozbot.db"
    store = SqliteStore(path)
    await store.open()
    await store.close()

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
