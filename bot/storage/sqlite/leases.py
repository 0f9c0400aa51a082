"""SQLite's conversation locks: a FIFO asyncio lock per key inside the process, then a lease row
in ``locks`` that other processes on the same file respect.

One statement takes a lease, one drops it. A background task renews the leases this process
holds, so a long turn keeps its lease; a crashed process's leases expire after ``lease``
seconds and are then taken over, at once when the holder was a process on this host that is
gone (``kill -9``: the restarted server does not wait for its predecessor's leases; see
:func:`bot.owners.orphans`). Leases are compared across processes, so they use the wall
clock (``time.time``), never a store's test clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from bot.errors import LockTimeout, StorageError
from bot.owners import new_owner, orphans, retire
from bot.storage._common import KeyedLocks, masked_key
from bot.storage.sqlite.connection import Connection, Db

__all__ = ["LeaseLocks"]

log = logging.getLogger(__name__)

# Take the lease when absent, when the holder let it expire, or when the holder is the dead
# process named last. A row of our own is a lease an interrupted take left behind: the
# in-process lock already makes us its rightful holder.
_TAKE_LEASE = """
INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE locks.expires_at < ? OR locks.owner = excluded.owner OR locks.owner = ?
"""
_HOLDER = "SELECT owner FROM locks WHERE key = ?"
# Only if still ours: had the lease expired and been taken over, the row is another's.
_DROP_LEASE = "DELETE FROM locks WHERE key = ? AND owner = ?"
_RENEW_LEASE = "UPDATE locks SET expires_at = ? WHERE key = ? AND owner = ?"


class LeaseLocks:
    """The conversation locks of one store on ``connection``; another process may take over a
    lease ``lease`` seconds after its holder stopped renewing it."""

    def __init__(self, connection: Connection, *, lease: float) -> None:
        self._connection = connection
        self._lease = lease
        self._keyed = KeyedLocks()
        self._owner = new_owner()  # host:pid:token, so another process can tell it died
        self._held: set[str] = set()
        self._renewer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start renewing held leases (once the connection is open)."""
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew(), name="ozbot-sqlite-leases")

    async def stop(self) -> None:
        retire(self._owner)
        if self._renewer is not None:
            renewer, self._renewer = self._renewer, None
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    @asynccontextmanager
    async def hold(self, key: str, timeout: float) -> AsyncIterator[None]:  # noqa: ASYNC109
        # (``timeout`` bounds the wait only: the port's signature)
        if not self._connection.is_open:
            raise StorageError("the store is not open: call `await store.open()` first")
        deadline = time.monotonic() + timeout
        async with self._keyed.hold(key, timeout):
            await self._take(key, deadline, timeout)
            try:
                yield
            finally:
                self._held.discard(key)
                await self._drop(key)

    async def _take(self, key: str, deadline: float, waited: float) -> None:
        backoff = 0.002
        dead = ""  # a holder found dead on the last try, whose lease may be taken at once
        while True:
            now = time.time()
            params = (key, self._owner, now + self._lease, now, dead)

            def take(db: Db, params: tuple[str, str, float, float, str] = params) -> str | None:
                if db.execute(_TAKE_LEASE, params).rowcount == 1:
                    return None
                held = db.execute(_HOLDER, params[:1]).fetchone()
                return str(held[0]) if held else ""

            try:
                taken = await self._connection.call("taking a lock", take)
            except asyncio.CancelledError:
                # The call runs on in the thread and may take the lease: give it back (a row of
                # ours left behind would block other processes until it expired).
                self._release_later(key)
                raise
            if taken is None:
                self._held.add(key)
                return
            if taken and taken != dead and orphans([taken]):
                dead = taken  # try again at once, taking it over
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockTimeout(
                    f"conversation {masked_key(key)} stayed locked by another process for "
                    f"{waited:g}s"
                )
            await asyncio.sleep(min(backoff, remaining))
            backoff = min(backoff * 2, 0.05)

    def _dropper(self, key: str) -> Callable[[Db], None]:
        def drop(db: Db) -> None:
            db.execute(_DROP_LEASE, (key, self._owner))

        return drop

    async def _drop(self, key: str) -> None:
        try:
            await self._connection.call("releasing a lock", self._dropper(key))
        except asyncio.CancelledError:
            self._release_later(key)
            raise
        except StorageError as exc:
            # Not renewed any more, so the lease expires by itself; the turn's work is done.
            log.warning("could not release the lock of %s: %s", masked_key(key), exc)

    def _release_later(self, key: str) -> None:
        """Queue the lease's release for the thread without waiting for it (for a cancelled
        task): it runs after the call in flight."""
        drop = self._dropper(key)

        def release(_: None) -> None:
            try:
                self._connection.run_waiting(drop)
            except (sqlite3.Error, StorageError) as exc:
                log.warning("could not release the lock of %s: %s", masked_key(key), exc)

        # closing, or the thread already shut down: the lease is not renewed and expires
        with contextlib.suppress(StorageError, RuntimeError):
            self._connection.submit(release, None)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            if not self._held:
                continue
            expires = time.time() + self._lease
            rows = [(expires, key, self._owner) for key in self._held]

            def renew(db: Db, rows: list[tuple[float, str, str]] = rows) -> None:
                db.executemany(_RENEW_LEASE, rows)

            try:
                await self._connection.call("renewing lock leases", renew, inline=False)
            except StorageError as exc:
                log.warning("could not renew %d lock lease(s): %s", len(rows), exc)
