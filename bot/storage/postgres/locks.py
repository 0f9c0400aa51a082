"""PostgreSQL's conversation locks: a FIFO asyncio lock per key inside the process first (so
waiters do not each tie up a pooled connection), then a session-level ``pg_advisory_lock`` on a
connection held until the lock is released, and lent to the holder's other calls meanwhile.

A process that dies loses its sessions, and PostgreSQL frees their advisory locks at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg_pool import PoolTimeout

from bot.errors import LockTimeout
from bot.storage._common import KeyedLocks, masked_key
from bot.storage.postgres.connection import Conn, Connections, lock_id, translate

__all__ = ["AdvisoryLocks"]

log = logging.getLogger(__name__)


class AdvisoryLocks:
    """The conversation locks of one store on ``connections``."""

    def __init__(self, connections: Connections) -> None:
        self._connections = connections
        self._keyed = KeyedLocks()

    @asynccontextmanager
    async def hold(self, key: str, timeout: float) -> AsyncIterator[None]:  # noqa: ASYNC109
        # (``timeout`` bounds the wait only: the port's signature)
        pool = self._connections.pool()
        deadline = time.monotonic() + timeout
        async with self._keyed.hold(key, timeout):
            try:
                conn = await pool.getconn(timeout=max(deadline - time.monotonic(), 0.001))
            except PoolTimeout as exc:
                raise LockTimeout(
                    f"no database connection free within {timeout:g}s to lock conversation "
                    f"{masked_key(key)}: raise the pool's max_size"
                ) from exc
            lock = lock_id(self._connections.namespace, key)
            try:
                await self._take(conn, lock, key, deadline, timeout)
            except LockTimeout:
                await pool.putconn(conn)
                raise
            except BaseException:
                # Cancelled or failed mid-query: the lock may or may not be held by the
                # session. Closing the session settles it; the pool replaces the connection.
                await conn.close()
                await pool.putconn(conn)
                with translate("taking a lock"):  # a psycopg error goes on as a StorageError
                    raise
            loan = self._connections.lend(conn)
            try:
                yield
            finally:
                self._connections.take_back(loan)
                try:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", [lock])
                except BaseException:
                    # A session we cannot unlock must not go back to the pool still holding
                    # the lock: closing it frees the lock.
                    await conn.close()
                    log.warning("could not release the lock of %s", masked_key(key))
                    raise
                finally:
                    await pool.putconn(conn)

    async def _take(self, conn: Conn, lock: int, key: str, deadline: float, waited: float) -> None:
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", [lock])
        row = await cur.fetchone()
        if row and row[0]:
            return
        remaining_ms = int((deadline - time.monotonic()) * 1000)
        message = f"conversation {masked_key(key)} stayed locked by another process for {waited:g}s"
        if remaining_ms <= 0:
            raise LockTimeout(message)
        # Wait in the server (woken the moment the holder unlocks) rather than poll.
        await conn.execute("SELECT set_config('lock_timeout', %s, false)", [f"{remaining_ms}ms"])
        try:
            await conn.execute("SELECT pg_advisory_lock(%s)", [lock])
        except psycopg.errors.LockNotAvailable as exc:
            raise LockTimeout(message) from exc
        finally:
            await conn.execute("RESET lock_timeout")
