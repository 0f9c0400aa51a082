"""A second process for the cross-process lock tests (run by them, not by pytest).

python -m tests.storage.lock_child KIND TARGET SCHEMA hold KEY [LEASE]
    take the lock, print "held", wait for a line on stdin, release, print "released" (SQLite's
    lease: LEASE seconds, 1 by default)
python -m tests.storage.lock_child KIND TARGET SCHEMA count KEY N
    N times, under the lock: read the counter in the cache, yield, write it back plus one
python -m tests.storage.lock_child KIND TARGET SCHEMA commit KEY STATE LEASE
    take the lock of the Telegram conversation KEY (a lease of LEASE seconds), print "held",
    wait for a line on stdin, commit a turn leaving the conversation in STATE, print
    "committed" or "refused: <the error>", release, print "released"
python -m tests.storage.lock_child KIND TARGET SCHEMA close KEY LEASE
    take the lock of KEY (a lease of LEASE seconds), print "held", wait for a line on stdin,
    close the conversation's handoff ticket (as a timer giving it back to the bot does before
    its commit), print "closed", "none" or "refused: <the error>", release, print "released"
python -m tests.storage.lock_child KIND TARGET SCHEMA send KEY LEASE
    take the lock of KEY (a lease of LEASE seconds), commit a turn, print "committed", wait for
    a line on stdin, print "ours" or "lost" (whether the lock is still this process's, as a
    turn asks before sending its replies), release, print "released"
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from bot.conversation import Conversation, TranscriptEntry
from bot.errors import StorageError
from bot.storage.base import Store
from bot.storage.postgres import PostgresStore
from bot.storage.sqlite import SqliteStore


def build(kind: str, target: str, schema: str, lease: float = 1.0) -> Store:
    if kind == "sqlite":
        # A short lease by default, so the "holder dies" test would not wait 30 s for the
        # takeover even if it were not at once.
        return SqliteStore(target, lease=lease)
    return PostgresStore(target, schema=None if schema == "-" else schema, max_size=2, lease=lease)


async def increment(store: Store, key: str, times: int) -> None:
    for _ in range(times):
        async with store.lock(key, timeout=60):
            value = int(await store.cache_get("test", key) or "0")
            # Widen the read-modify-write window: without the lock, updates would be lost.
            await asyncio.sleep(0.002)
            await store.cache_put("test", key, str(value + 1), ttl=3600)


async def main(kind: str, target: str, schema: str, mode: str, key: str, *rest: str) -> None:
    leased = (mode == "hold" and rest) or mode in ("commit", "send", "close")
    store = build(kind, target, schema, float(rest[-1]) if leased else 1.0)
    await store.open()
    try:
        if mode == "hold":
            async with store.lock(key, timeout=60):
                print("held", flush=True)
                await asyncio.to_thread(sys.stdin.readline)
            print("released", flush=True)
        elif mode == "commit":
            async with store.lock(key, timeout=60):
                print("held", flush=True)
                await asyncio.to_thread(sys.stdin.readline)
                turn = Conversation.new("telegram", key.removeprefix("telegram:"))
                turn.flow, turn.state = "sales", rest[0]
                try:
                    await store.commit_turn(turn, [TranscriptEntry("bot", rest[0])], "child:1")
                except StorageError as exc:
                    print(f"refused: {type(exc).__name__}", flush=True)
                else:
                    print("committed", flush=True)
            print("released", flush=True)
        elif mode == "close":
            async with store.lock(key, timeout=60):
                print("held", flush=True)
                await asyncio.to_thread(sys.stdin.readline)
                try:
                    closed = await store.close_handoff(key, "expired", datetime.now(UTC))
                except StorageError as exc:
                    print(f"refused: {type(exc).__name__}", flush=True)
                else:
                    print("closed" if closed is not None else "none", flush=True)
            print("released", flush=True)
        elif mode == "send":
            async with store.lock(key, timeout=60):
                turn = Conversation.new("telegram", key.removeprefix("telegram:"))
                turn.flow, turn.state = "sales", "committed"
                await store.commit_turn(turn, [TranscriptEntry("bot", "reply")], "child:1")
                print("committed", flush=True)
                await asyncio.to_thread(sys.stdin.readline)
                print("ours" if await store.still_holds(key) else "lost", flush=True)
            print("released", flush=True)
        elif mode == "count":
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            await increment(store, key, int(rest[0]))
        else:
            raise SystemExit(f"unknown mode {mode!r}")
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
