"""SQLite's lease statements for the conversation locks (:mod:`bot.storage.leases` holds the
logic both databases share): one statement takes a lease, one drops it, one renews them.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.leases import LeaseLocks
from bot.storage.sqlite.connection import Connection, Db

__all__ = ["DROP_LEASE", "TAKE_LEASE", "SqliteLeases"]

# Take the lease when absent, when the holder let it expire, or when the holder is the dead
# process named last. A row of our own is a lease an interrupted take left behind: the
# in-process lock already makes us its rightful holder. (key, owner, until, now, dead)
TAKE_LEASE = """
INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
WHERE locks.expires_at < ? OR locks.owner = excluded.owner OR locks.owner = ?
"""
_HOLDER = "SELECT owner FROM locks WHERE key = ?"
# Only if still ours: had the lease expired and been taken over, the row is another's.
DROP_LEASE = "DELETE FROM locks WHERE key = ? AND owner = ?"
_RENEW_LEASE = "UPDATE locks SET expires_at = ? WHERE key = ? AND owner = ?"


class SqliteLeases(LeaseLocks):
    """The conversation locks of one SQLite store on ``connection``."""

    def __init__(self, connection: Connection, *, lease: float) -> None:
        super().__init__(lease=lease)
        self._connection = connection

    async def take_lease(self, key: str, until: float, now: float, dead: str) -> str | None:
        params = (key, self.owner, until, now, dead)

        def take(db: Db) -> str | None:
            if db.execute(TAKE_LEASE, params).rowcount == 1:
                return None
            held = db.execute(_HOLDER, params[:1]).fetchone()
            return str(held[0]) if held else ""

        return await self._connection.call("taking a lock", take)

    async def drop_lease(self, key: str) -> None:
        params = (key, self.owner)
        await self._connection.call("releasing a lock", lambda db: db.execute(DROP_LEASE, params))

    async def renew_leases(self, keys: Sequence[str], until: float) -> None:
        rows = [(until, key, self.owner) for key in keys]
        await self._connection.call(
            "renewing lock leases", lambda db: db.executemany(_RENEW_LEASE, rows), inline=False
        )
