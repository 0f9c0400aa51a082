"""The PostgreSQL store: psycopg 3 (async) with a connection pool, for several processes/hosts.

Conversation locks are two-level: a FIFO asyncio lock per key inside the process first (so
waiters do not each tie up a pooled connection), then a session-level ``pg_advisory_lock`` on a
connection held until the lock is released. While a task holds a lock, the store's other
methods called from that same task run on that connection, so a turn needs one connection, not
two (and a full pool cannot deadlock lock holders against their own queries). A process that
dies loses its session, and PostgreSQL frees its advisory locks at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.conversation import Conversation, TranscriptEntry
from bot.errors import LockTimeout, StorageError
from bot.messages import Inbound
from bot.storage._common import DriverErrors, KeyedLocks, masked_key, to_utc
from bot.storage.inbox import InboxEntry, inbound_from_json, inbound_to_json
from bot.storage.migrations import MIGRATIONS, SCHEMA_VERSION_DDL, Migration, pending
from bot.storage.queries import (
    CONVERSATION_COLUMNS,
    CONVERSATION_UPSERT,
    POSTGRES,
    TIMER_COLUMNS,
    Row,
    conversation_values,
    timer,
)
from bot.storage.shared import Params, SqlStore, Transaction
from bot.storage.timers import Timer

__all__ = ["PostgresStore", "describe_dsn"]

log = logging.getLogger(__name__)

T = TypeVar("T")
Conn = AsyncConnection[tuple[Any, ...]]

# (store, task, connection) while a task holds one of that store's conversation locks.
_HELD: ContextVar[tuple[PostgresStore, asyncio.Task[Any] | None, Conn] | None] = ContextVar(
    "ozbot_postgres_held", default=None
)

_CONVERSATION_PARAMS = CONVERSATION_COLUMNS.split(", ")

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# commit_turn as one statement (one round trip, and atomic on its own): record the message id,
# save the conversation and append its lines, the last two only if the id was new. Data-modifying
# CTEs all run to completion whether or not the final SELECT reads them; they see one snapshot,
# hence the guard on ``message``'s RETURNING rather than on the table. The lines are inserted in
# their order (ORDER BY the array position), so their ids keep the transcript's order.
_SAVE_TURN = """
conversation AS (
    INSERT INTO conversations ({columns})
    SELECT %(key)s::text, %(channel)s::text, %(contact)s::text, %(flow)s::text, %(state)s::text,
        %(language)s::text, %(context)s::jsonb, %(failures)s::integer, %(created_at)s::timestamptz,
        %(updated_at)s::timestamptz
    {guard}
    {upsert}
), lines AS (
    INSERT INTO transcript (key, role, text, at)
    SELECT %(key)s::text, line.role, line.text, line.at
    FROM unnest(%(roles)s::text[], %(texts)s::text[], %(ats)s::timestamptz[])
        WITH ORDINALITY AS line (role, text, at, position)
    {guard}
    ORDER BY line.position
)
"""
# (built from the constants above, once: nothing from outside reaches the SQL text)
_COMMIT_TURN = (
    "WITH message AS ("  # noqa: S608
    " INSERT INTO processed_messages (provider_id, key, at)"
    " VALUES (%(provider_id)s::text, %(key)s::text, %(now)s::timestamptz)"
    " ON CONFLICT (provider_id) DO NOTHING RETURNING 1),"
    + _SAVE_TURN.format(
        guard="WHERE EXISTS (SELECT FROM message)",
        columns=CONVERSATION_COLUMNS,
        upsert=CONVERSATION_UPSERT,
    )
    + "SELECT count(*) FROM message"
)
_COMMIT_TURN_WITHOUT_ID = (
    "WITH"
    + _SAVE_TURN.format(guard="", columns=CONVERSATION_COLUMNS, upsert=CONVERSATION_UPSERT)
    + "SELECT 1"
)

# One statement: the plan unnested; the kinds it cancels deleted, the others upserted. A plan
# names each kind once, so the rows it deletes and the rows it writes are never the same.
_SET_TIMERS = """
WITH plan AS (
    SELECT * FROM unnest(%(kinds)s::text[], %(dues)s::timestamptz[]) AS plan (kind, due)
), cancelled AS (
    DELETE FROM timers USING plan
    WHERE timers.key = %(key)s AND timers.kind = plan.kind AND plan.due IS NULL
)
INSERT INTO timers (key, kind, due_at)
SELECT %(key)s::text, kind, due FROM plan WHERE due IS NOT NULL
ON CONFLICT (key, kind) DO UPDATE SET due_at = excluded.due_at,
    claimed_by = NULL, claimed_until = NULL
"""

# SKIP LOCKED: runners in other processes claiming at the same moment take other rows instead
# of waiting for these.
_CLAIM_TIMERS = (
    "UPDATE timers SET claimed_by = %s, claimed_until = %s FROM ("  # noqa: S608
    " SELECT id AS due_id FROM timers WHERE due_at <= %s"
    " AND (claimed_until IS NULL OR claimed_until < %s)"
    " ORDER BY due_at, id LIMIT %s FOR UPDATE SKIP LOCKED) AS due"
    f" WHERE timers.id = due.due_id RETURNING {TIMER_COLUMNS}"
)

_FORGET_CACHE = (
    "DELETE FROM cache USING unnest(%s::text[]) AS s(suffix)"
    " WHERE cache.namespace = %s AND right(cache.key, length(s.suffix)) = s.suffix"
)


# A provider id a turn already committed is skipped (its inbox row is gone by then).
_INBOX_PUT = """
INSERT INTO inbox (key, provider_id, message, received_at, claimed_by, claimed_until)
SELECT %(key)s::text, %(provider_id)s::text, %(message)s::jsonb, %(at)s::timestamptz,
    %(owner)s::text, %(until)s::double precision
WHERE NOT EXISTS (SELECT FROM processed_messages WHERE provider_id = %(provider_id)s::text)
ON CONFLICT (provider_id) DO NOTHING
RETURNING id
"""

# Entries whose lease ran out (or was given back), oldest first, unless an earlier entry of the
# same conversation is under a live lease (it must run first). SKIP LOCKED passes over rows
# another statement is finishing or renewing instead of waiting for them.
_INBOX_CLAIM = """
UPDATE inbox SET claimed_by = %(owner)s, claimed_until = %(until)s FROM (
    SELECT i.id FROM inbox AS i
    WHERE (i.claimed_until IS NULL OR i.claimed_until < %(now)s
        OR i.claimed_by = ANY(%(orphans)s::text[]))
    AND NOT EXISTS (
        SELECT FROM inbox AS e WHERE e.key = i.key AND e.id < i.id AND e.claimed_until >= %(now)s
        AND e.claimed_by <> ALL(%(orphans)s::text[])
    )
    ORDER BY i.id LIMIT %(limit)s FOR UPDATE OF i SKIP LOCKED
) AS due
WHERE inbox.id = due.id
RETURNING inbox.id, inbox.message
"""


def translate(what: str) -> DriverErrors:
    """psycopg's errors in the block become :class:`StorageError` naming ``what``."""
    return DriverErrors("PostgreSQL", psycopg.Error, what)


def describe_dsn(dsn: str) -> str:
    """The DSN without its password, for messages: ``postgresql://user@host:port/dbname``."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<malformed DATABASE_URL>"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


def _lock_id(namespace: str, key: str) -> int:
    """A stable signed 64-bit advisory-lock id (Python's hash() differs between processes)."""
    digest = hashlib.blake2b(f"{namespace}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresStore(SqlStore):
    """The Store port on PostgreSQL at ``dsn``.

    ``schema`` (a lower-case identifier) confines every table to that schema, created if
    missing; tests give each run its own. ``clock`` gives epoch seconds for cache expiry. Every
    method may raise :class:`StorageError`; ``lock`` raises :class:`LockTimeout`.
    """

    queries = POSTGRES

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
        clock: Callable[[], float] = time.time,
        open_timeout: float = 10.0,
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
            raise StorageError(
                f"schema {schema!r} is not a plain lower-case identifier: use letters, digits, _"
            )
        self._dsn = dsn
        self.schema = schema
        self._min_size = min_size
        self._max_size = max_size
        self._clock = clock
        self._open_timeout = open_timeout
        self._migrations = tuple(migrations)
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._keyed = KeyedLocks()
        # Advisory locks are per database: the schema keeps separate deployments (and tests)
        # from blocking each other's conversations.
        self._namespace = f"ozbot:{schema or ''}"

    def __repr__(self) -> str:
        return f"PostgresStore({describe_dsn(self._dsn)!r}, schema={self.schema!r})"

    # -- life cycle -------------------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            return
        # A direct connection first: it reports the real reason (refused, bad password, no such
        # database) where a pool would only time out, and it runs the migrations.
        try:
            conn = await AsyncConnection.connect(
                self._dsn, autocommit=True, connect_timeout=max(1, round(self._open_timeout))
            )
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot connect to PostgreSQL at {describe_dsn(self._dsn)} ({exc}): check "
                "DATABASE_URL and that the server is running"
            ) from exc
        with translate("migration"):
            async with conn:
                await self._migrate(conn)
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            self._dsn,
            min_size=self._min_size,
            max_size=self._max_size,
            kwargs={"autocommit": True},
            configure=self._configure,
            open=False,
            name="ozbot",
        )
        try:
            await pool.open(wait=True, timeout=self._open_timeout)
        except PoolTimeout as exc:
            await pool.close()
            raise StorageError(
                f"PostgreSQL at {describe_dsn(self._dsn)} did not give {self._min_size} "
                f"connection(s) within {self._open_timeout:g}s: check max_connections"
            ) from exc
        self._pool = pool

    async def _configure(self, conn: Conn) -> None:
        await conn.execute("SET TIME ZONE 'UTC'")
        if self.schema is not None:
            await conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))

    async def _migrate(self, conn: Conn) -> None:
        async with conn.transaction():
            # Held to the end of the transaction: a second process starting now waits here and
            # then finds nothing pending.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(%s)", [_lock_id(self._namespace, "migrations")]
            )
            if self.schema is not None:
                await conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
                )
            await self._configure(conn)
            await conn.execute(SCHEMA_VERSION_DDL["postgres"])
            cur = await conn.execute(POSTGRES.schema_version)
            row = await cur.fetchone()
            current = int(row[0]) if row else 0
            if current > len(self._migrations):
                raise StorageError(
                    f"the database has schema version {current}, newer than this ozbot knows "
                    f"({len(self._migrations)}): upgrade ozbot"
                )
            for version, name, sqls in pending(self._migrations, current, "postgres"):
                for statement in sqls:
                    await conn.execute(statement.encode())
                await conn.execute(POSTGRES.record_version, [version, name, datetime.now(UTC)])
                log.info("postgres schema migrated to version %d (%s)", version, name)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def _require(self) -> AsyncConnectionPool[Conn]:
        if self._pool is None:
            raise StorageError("the store is not open: call `await store.open()` first")
        return self._pool

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Conn]:
        """The connection of the lock this task holds, else one from the pool."""
        held = _HELD.get()
        if held is not None and held[0] is self and held[1] is asyncio.current_task():
            yield held[2]
            return
        async with self._require().connection() as conn:
            yield conn

    # -- the shared statements' ways to run (see bot.storage.shared) ------------------------

    async def _fetch(
        self, what: str, statement: str, params: Params, *, bulk: bool = False
    ) -> list[Row]:
        with translate(what):
            async with self._connection() as conn:
                cur = await conn.execute(statement, params)
                return await cur.fetchall()

    async def _count(self, what: str, statement: str, params: Params) -> int:
        with translate(what):
            async with self._connection() as conn:
                cur = await conn.execute(statement, params)
                return cur.rowcount

    async def _transact(
        self, what: str, body: Callable[[], Transaction[T]], *, bulk: bool = False
    ) -> T:
        with translate(what):
            async with self._connection() as conn, conn.transaction():
                steps = body()
                try:
                    statement, params = next(steps)
                    while True:
                        cur = await conn.execute(statement, params)
                        found = await cur.fetchall() if cur.description is not None else []
                        statement, params = steps.send(found)
                except StopIteration as done:
                    result: T = done.value
                    return result

    # -- locks ------------------------------------------------------------------------------

    @asynccontextmanager
    async def lock(
        self,
        key: str,
        timeout: float = 30.0,  # noqa: ASYNC109 - the port's signature: bounds the wait only
    ) -> AsyncIterator[None]:
        pool = self._require()
        deadline = time.monotonic() + timeout
        async with self._keyed.hold(key, timeout):
            try:
                conn = await pool.getconn(timeout=max(deadline - time.monotonic(), 0.001))
            except PoolTimeout as exc:
                raise LockTimeout(
                    f"no database connection free within {timeout:g}s to lock conversation "
                    f"{masked_key(key)}: raise the pool's max_size"
                ) from exc
            lock_id = _lock_id(self._namespace, key)
            try:
                await self._advisory_lock(conn, lock_id, key, deadline, timeout)
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
            token = _HELD.set((self, asyncio.current_task(), conn))
            try:
                yield
            finally:
                _HELD.reset(token)
                try:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", [lock_id])
                except BaseException:
                    # A session we cannot unlock must not go back to the pool still holding
                    # the lock: closing it frees the lock.
                    await conn.close()
                    log.warning("could not release the lock of %s", masked_key(key))
                    raise
                finally:
                    await pool.putconn(conn)

    async def _advisory_lock(
        self, conn: Conn, lock_id: int, key: str, deadline: float, waited: float
    ) -> None:
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
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
            await conn.execute("SELECT pg_advisory_lock(%s)", [lock_id])
        except psycopg.errors.LockNotAvailable as exc:
            raise LockTimeout(message) from exc
        finally:
            await conn.execute("RESET lock_timeout")

    # -- conversations ----------------------------------------------------------------------

    async def commit_turn(
        self,
        conversation: Conversation,
        transcript: Sequence[TranscriptEntry],
        provider_id: str | None = None,
    ) -> bool:
        # the context goes as text, cast to jsonb by the server
        params: dict[str, Any] = dict(
            zip(_CONVERSATION_PARAMS, conversation_values(conversation, to_utc), strict=True)
        )
        params |= {
            "roles": [entry.role for entry in transcript],
            "texts": [entry.text for entry in transcript],
            "ats": [to_utc(entry.at) for entry in transcript],
        }
        query = _COMMIT_TURN_WITHOUT_ID
        if provider_id is not None:
            query = _COMMIT_TURN
            params["provider_id"] = provider_id
            params["now"] = datetime.fromtimestamp(self._clock(), UTC)
        found = await self._fetch("committing a turn", query, params)
        return bool(found) and found[0][0] == 1

    async def cache_forget(self, namespace: str, suffixes: Sequence[str]) -> int:
        wanted = [s for s in dict.fromkeys(suffixes) if s]
        if not wanted:
            return 0
        return await self._count("forgetting cache entries", _FORGET_CACHE, (wanted, namespace))

    # -- timers -----------------------------------------------------------------------------

    async def set_timers(self, key: str, plan: Mapping[str, datetime | None]) -> None:
        if not plan:
            return
        dues = [None if due is None else to_utc(due) for due in plan.values()]
        await self._count(
            "scheduling timers", _SET_TIMERS, {"key": key, "kinds": list(plan), "dues": dues}
        )

    async def claim_timers(self, now: datetime, *, limit: int, lease: float) -> list[Timer]:
        at = to_utc(now)
        claimed = await self._fetch(
            "claiming timers",
            _CLAIM_TIMERS,
            (uuid.uuid4().hex, at + timedelta(seconds=lease), at, at, limit),
        )
        return sorted(map(timer, claimed), key=lambda t: (t.due_at, t.id))

    # -- the inbox (InboxStore) --------------------------------------------------------------

    async def inbox_put(self, inbound: Inbound, owner: str, lease: float) -> int | None:
        now = self._clock()
        stored = await self._fetch(
            "storing an accepted message",
            _INBOX_PUT,
            {
                "key": inbound.key,
                "provider_id": inbound.provider_id,
                "message": inbound_to_json(inbound),
                "at": datetime.fromtimestamp(now, UTC),
                "owner": owner,
                "until": now + lease,
            },
        )
        return int(stored[0][0]) if stored else None

    async def inbox_claim(
        self, owner: str, lease: float, limit: int, *, orphans: Sequence[str] = ()
    ) -> list[InboxEntry]:
        now = self._clock()
        turn = [_lock_id(self._namespace, "inbox claim")]
        params = {
            "owner": owner,
            "until": now + lease,
            "now": now,
            "orphans": list(orphans),
            "limit": limit,
        }

        def claim() -> Transaction[list[Row]]:
            # Claimers take turns (each statement of a READ COMMITTED transaction sees what
            # committed before it began): with SKIP LOCKED alone, a second claimer could take a
            # conversation's later entry while the first still holds its earlier ones
            # uncommitted, and run them out of order.
            yield "SELECT pg_advisory_xact_lock(%s)", turn
            return (yield _INBOX_CLAIM, params)

        claimed = await self._transact("claiming inbox entries", claim)
        return sorted(
            (InboxEntry(id=row[0], inbound=inbound_from_json(row[1])) for row in claimed),
            key=lambda entry: entry.id,
        )
