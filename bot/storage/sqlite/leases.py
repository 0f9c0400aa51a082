"""SQLite's lease statements for the conversation locks (:mod:`bot.storage.leases` holds the
logic both databases share): one statement takes a lease, one drops it, one renews them, and
one fences a turn's commit (:data:`FENCE`, the first statement of its write transaction: SQLite
has one writer at a time, so nothing takes the lease between it and the commit).

A row's ``turn`` counts the takes and the commits under the lease since the row was made (a
drop deletes it): with the owner, it tells a holder from whoever took the lease over.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.storage.leases import LeaseLocks, Took
from bot.storage.sqlite.connection import Connection, Db

__all__ = ["DROP_HELD", "DROP_LEASE", "FENCE", "TAKE_LEASE", "SqliteLeases"]

# Take the lease when absent, when the holder let it expire, or when the holder is the dead
# process named last. A row of our own is a lease an interrupted take left behind: the
# in-process lock already makes us its rightful holder. (key, owner, until, now, dead)
TAKE_LEASE = """
INSERT INTO locks (key, owner, expires_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
    turn = locks.turn + 1
WHERE locks.expires_at < ? OR locks.owner = excluded.owner OR locks.owner = ?
RETURNING turn
"""
_HOLDER = "SELECT owner FROM locks WHERE key = ?"
# Only if still ours: had the lease expired and been taken over, the row is another's.
DROP_LEASE = "DELETE FROM locks WHERE key = ? AND owner = ?"
#: a lease dropped by the write that finishes its inbox entry, only at the count it had
#: (key, owner, turn)
DROP_HELD = "DELETE FROM locks WHERE key = ? AND owner = ? AND turn = ?"
_RENEW_LEASE = "UPDATE locks SET expires_at = ? WHERE key = ? AND owner = ?"
#: a turn's commit goes on only if this returns a row (the new count): the lease is still ours
#: at the count we know. (until, key, owner, turn)
FENCE = (
    "UPDATE locks SET turn = turn + 1, expires_at = ? WHERE key = ? AND owner = ? AND turn = ?"
    " RETURNING turn"
)


class SqliteLeases(LeaseLocks):
    """The conversation locks of one SQLite store on ``connection``."""

    def __init__(self, connection: Connection, *, lease: float) -> None:
        super().__init__(lease=lease)
        self._connection = connection

    async def take_lease(self, key: str, until: float, now: float, dead: str) -> Took:
        params = (key, self.owner, until, now, dead)

        def take(db: Db) -> Took:
            took = db.execute(TAKE_LEASE, params).fetchall()  # (all: the statement ends)
            if took:
                return int(took[0][0]), ""
            held = db.execute(_HOLDER, params[:1]).fetchone()
            return None, str(held[0]) if held else ""

        return await self._connection.call("taking a lock", take)

    async def drop_lease(self, key: str) -> None:
        params = (key, self.owner)
        await self._connection.call("releasing a lock", lambda db: db.execute(DROP_LEASE, params))

    def fence_statement(self, key: str, turn: int) -> tuple[str, tuple[object, ...]]:
        return FENCE, (time.time() + self.lease, key, self.owner, turn)

    async def confirm_lease(self, key: str, turn: int) -> int | None:
        _, params = self.fence_statement(key, turn)
        found = await self._connection.call(
            "confirming a lock", lambda db: db.execute(FENCE, params).fetchall()
        )
        return int(found[0][0]) if found else None

    async def renew_leases(self, keys: Sequence[str], until: float) -> None:
        rows = [(until, key, self.owner) for key in keys]
        await self._connection.call(
            "renewing lock leases", lambda db: db.executemany(_RENEW_LEASE, rows), inline=False
        )
