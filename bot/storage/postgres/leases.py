"""PostgreSQL's lease statements for the conversation locks (:mod:`bot.storage.leases` holds the
logic both databases share), and the fragments of the inbox's statements that take and drop a
lease with an entry (:mod:`bot.storage.postgres.store`).

A lease row stays after its lease is dropped (``expires_at`` 0), with ``turn`` counting the
takes, the commits under the lease (:data:`FENCE`) and the drops: a statement that takes a lease
and reads the conversation in one go compares the count its snapshot saw with the count of the
row it took, and trusts what it read only when its own take is the one step between them (a
holder that committed or dropped the lease while the statement ran may have committed after its
snapshot was taken). A conversation that no longer exists (erased) loses its row with the
lease, so no key of an erased customer stays behind.

A commit under a lease is fenced by it in the committing statement: :data:`FENCE` moves the
count on (and the lease's end, as a renewal does) only while the row is still the holder's at
the count it knows, and the statement writes nothing when it did not. Its row lock orders it
with a take: a take that waits for it finds the count moved on (so it reads the conversation
again), and a commit that waits for a take finds another owner (so it writes nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.storage.leases import LeaseLocks, Took
from bot.storage.postgres.connection import Connections, translate

__all__ = ["DROP", "FENCE", "SERVER_NOW", "PostgresLeases"]

#: the database server's clock in epoch seconds: every replica stamps and judges a lease by
#: the same clock (each host's own would let a replica whose clock runs ahead take live leases)
SERVER_NOW = "extract(epoch FROM clock_timestamp())::double precision"

# (the same rules as SQLite's: free, run out, ours, or the dead holder named)
_TAKE = f"""
WITH took AS (
    INSERT INTO locks (key, owner, expires_at) VALUES (%(key)s, %(owner)s, {SERVER_NOW} + %(lease)s)
    ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at,
        turn = locks.turn + 1
    WHERE locks.expires_at < {SERVER_NOW} OR locks.owner = excluded.owner OR locks.owner = %(dead)s
    RETURNING turn
)
SELECT (SELECT turn FROM took), (SELECT owner FROM locks WHERE key = %(key)s)
"""  # noqa: S608 - constants only
#: a CTE (``fence``, one row: the lease's new count) moving the count of the lease of
#: %(lock_key)s on, and its end to %(lock_lease)s seconds from now, only if %(lock_owner)s
#: still holds it at %(lock_turn)s; what a turn's commit guards its writes with
FENCE = f"""
fence AS (
    UPDATE locks SET turn = turn + 1, expires_at = {SERVER_NOW} + %(lock_lease)s::double precision
    WHERE key = %(lock_key)s::text AND owner = %(lock_owner)s::text
    AND turn = %(lock_turn)s::bigint
    RETURNING turn
)"""  # noqa: S608 - constants only
#: CTEs dropping the lease of %(lock_key)s if %(lock_owner)s still holds it: kept (counted)
#: while the conversation exists, deleted once it does not. Both see one snapshot, so exactly
#: one of them applies.
DROP = """
kept AS (
    UPDATE locks SET expires_at = 0, turn = turn + 1
    WHERE key = %(lock_key)s AND owner = %(lock_owner)s
    AND EXISTS (SELECT FROM conversations WHERE key = %(lock_key)s)
), gone AS (
    DELETE FROM locks WHERE key = %(lock_key)s AND owner = %(lock_owner)s
    AND NOT EXISTS (SELECT FROM conversations WHERE key = %(lock_key)s)
)"""
_DROP = f"WITH {DROP} SELECT 1"
_CONFIRM = f"WITH {FENCE} SELECT turn FROM fence"  # noqa: S608 - constants only
# (a lease dropped while the renewal was on its way stays dropped: its expires_at is 0)
_RENEW = (
    f"UPDATE locks SET expires_at = {SERVER_NOW} + %s"  # noqa: S608 - constants only
    " WHERE owner = %s AND key = ANY(%s::text[]) AND expires_at > 0"
)


class PostgresLeases(LeaseLocks):
    """The conversation locks of one PostgreSQL store on ``connections``."""

    def __init__(self, connections: Connections, *, lease: float) -> None:
        super().__init__(lease=lease)
        self._connections = connections

    async def take_lease(self, key: str, until: float, now: float, dead: str) -> Took:
        # (until and now are the wall clock's: the server's own is used instead)
        params = {"key": key, "owner": self.owner, "lease": self.lease, "dead": dead}
        with translate("taking a lock"):
            async with self._connections.connection() as conn:
                cur = await conn.execute(_TAKE, params)
                row = await cur.fetchone()
        if row is not None and row[0] is not None:
            return int(row[0]), ""
        return None, "" if row is None or row[1] is None else str(row[1])

    async def drop_lease(self, key: str) -> None:
        with translate("releasing a lock"):
            async with self._connections.connection() as conn:
                await conn.execute(_DROP, {"lock_key": key, "lock_owner": self.owner})

    def fence_statement(self, key: str, turn: int) -> tuple[str, dict[str, object]]:
        params = {"lock_key": key, "lock_owner": self.owner, "lock_turn": turn}
        return _CONFIRM, params | {"lock_lease": self.lease}

    async def confirm_lease(self, key: str, turn: int) -> int | None:
        _, params = self.fence_statement(key, turn)
        with translate("confirming a lock"):
            async with self._connections.connection() as conn:
                cur = await conn.execute(_CONFIRM, params)
                row = await cur.fetchone()
        return None if row is None else int(row[0])

    async def renew_leases(self, keys: Sequence[str], until: float) -> None:
        with translate("renewing lock leases"):
            async with self._connections.connection() as conn:
                await conn.execute(_RENEW, (self.lease, self.owner, list(keys)))
