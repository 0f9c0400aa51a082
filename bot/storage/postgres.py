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
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.conversation import Conversation, TranscriptEntry
from bot.errors import LockTimeout, StorageError
from bot.messages import Inbound
from bot.storage._common import DriverErrors, KeyedLocks, dump_context, masked_key, to_utc
from bot.storage.agents import RETURN_CLAIMED_SQL, AgentAccount, AgentSession, AgentStore
from bot.storage.base import HANDOFF_RELEASE, HandoffTicket, Store, Timer
from bot.storage.inbox import InboxEntry, InboxStore, inbound_from_json, inbound_to_json
from bot.storage.migrations import MIGRATIONS, SCHEMA_VERSION_DDL, Migration, pending

__all__ = ["PostgresStore", "describe_dsn"]

log = logging.getLogger(__name__)

Conn = AsyncConnection[tuple[Any, ...]]

# (store, task, connection) while a task holds one of that store's conversation locks.
_HELD: ContextVar[tuple[PostgresStore, asyncio.Task[Any] | None, Conn] | None] = ContextVar(
    "ozbot_postgres_held", default=None
)

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

# commit_turn as one statement (one round trip, and atomic on its own): record the message id,
# save the conversation and append its lines, the last two only if the id was new. Data-modifying
# CTEs all run to completion whether or not the final SELECT reads them; they see one snapshot,
# hence the guard on ``message``'s RETURNING rather than on the table. The lines are inserted in
# their order (ORDER BY the array position), so their ids keep the transcript's order.
_SAVE_TURN = """
conversation AS (
    INSERT INTO conversations
        (key, channel, contact, flow, state, language, context, failures, created_at, updated_at)
    SELECT %(key)s::text, %(channel)s::text, %(contact)s::text, %(flow)s::text, %(state)s::text,
        %(language)s::text, %(context)s::jsonb, %(failures)s::integer, %(created_at)s::timestamptz,
        %(updated_at)s::timestamptz
    {guard}
    ON CONFLICT (key) DO UPDATE SET
        channel = excluded.channel, contact = excluded.contact, flow = excluded.flow,
        state = excluded.state, language = excluded.language, context = excluded.context,
        failures = excluded.failures, created_at = excluded.created_at,
        updated_at = excluded.updated_at
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
    + _SAVE_TURN.format(guard="WHERE EXISTS (SELECT FROM message)")
    + "SELECT count(*) FROM message"
)
_COMMIT_TURN_WITHOUT_ID = "WITH" + _SAVE_TURN.format(guard="") + "SELECT 1"


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


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def _ticket(row: Sequence[Any]) -> HandoffTicket:
    return HandoffTicket(
        id=row[0],
        key=row[1],
        status=row[2],
        reason=row[3],
        since=row[4].astimezone(UTC),
        agent=row[5],
        claimed_at=_utc(row[6]),
        closed_at=_utc(row[7]),
        outcome=row[8],
    )


def _timer(row: Sequence[Any]) -> Timer:
    return Timer(id=row[0], key=row[1], kind=row[2], due_at=row[3].astimezone(UTC), claim=row[4])


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


class PostgresStore(Store, AgentStore, InboxStore):
    """The Store port on PostgreSQL at ``dsn``.

    ``schema`` (a lower-case identifier) confines every table to that schema, created if
    missing; tests give each run its own. ``clock`` gives epoch seconds for cache expiry. Every
    method may raise :class:`StorageError`; ``lock`` raises :class:`LockTimeout`.
    """

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
            cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
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
                await conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                    [version, name, datetime.now(UTC)],
                )
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

    async def schema_version(self) -> int:
        """The number of migrations applied to the schema."""
        with translate("reading schema_version"):
            async with self._connection() as conn:
                cur = await conn.execute("SELECT max(version) FROM schema_version")
                row = await cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

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

    async def load(self, key: str) -> Conversation | None:
        with translate("loading a conversation"):
            async with self._connection() as conn:
                cur = await conn.execute(
                    "SELECT channel, contact, flow, state, language, context, failures,"
                    " created_at, updated_at FROM conversations WHERE key = %s",
                    [key],
                )
                row = await cur.fetchone()
        if row is None:
            return None
        return Conversation(
            key=key,
            channel=row[0],
            contact=row[1],
            flow=row[2],
            state=row[3],
            language=row[4],
            context=row[5],
            failures=row[6],
            created_at=row[7].astimezone(UTC),
            updated_at=row[8].astimezone(UTC),
        )

    async def seen(self, provider_id: str) -> bool:
        with translate("checking a message id"):
            async with self._connection() as conn:
                cur = await conn.execute(
                    "SELECT 1 FROM processed_messages WHERE provider_id = %s", [provider_id]
                )
                return await cur.fetchone() is not None

    async def commit_turn(
        self,
        conversation: Conversation,
        transcript: Sequence[TranscriptEntry],
        provider_id: str | None = None,
    ) -> bool:
        c = conversation
        params = {
            "key": c.key,
            "channel": c.channel,
            "contact": c.contact,
            "flow": c.flow,
            "state": c.state,
            "language": c.language,
            "context": dump_context(c.context),  # sent as text, cast to jsonb by the server
            "failures": c.failures,
            "created_at": to_utc(c.created_at),
            "updated_at": to_utc(c.updated_at),
            "roles": [entry.role for entry in transcript],
            "texts": [entry.text for entry in transcript],
            "ats": [to_utc(entry.at) for entry in transcript],
        }
        query = _COMMIT_TURN_WITHOUT_ID
        if provider_id is not None:
            query = _COMMIT_TURN
            params["provider_id"] = provider_id
            params["now"] = datetime.fromtimestamp(self._clock(), UTC)
        with translate("committing a turn"):
            async with self._connection() as conn:
                cur = await conn.execute(query, params)
                row = await cur.fetchone()
        return row is not None and row[0] == 1

    async def transcript(self, key: str, limit: int | None = None) -> list[TranscriptEntry]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, not {limit}")
        query = "SELECT role, text, at FROM transcript WHERE key = %s ORDER BY id"
        params: list[Any] = [key]
        if limit is not None:
            query = (
                "SELECT role, text, at FROM (SELECT id, role, text, at FROM transcript"
                " WHERE key = %s ORDER BY id DESC LIMIT %s) AS last ORDER BY id"
            )
            params = [key, limit]
        with translate("reading a transcript"):
            async with self._connection() as conn:
                cur = await conn.execute(query, params)
                rows = await cur.fetchall()
        return [TranscriptEntry(role=r[0], text=r[1], at=r[2].astimezone(UTC)) for r in rows]

    async def forget(self, key: str) -> None:
        with translate("forgetting a conversation"):
            async with self._connection() as conn, conn.transaction():
                await conn.execute("DELETE FROM conversations WHERE key = %s", [key])
                await conn.execute("DELETE FROM transcript WHERE key = %s", [key])
                await conn.execute("DELETE FROM timers WHERE key = %s", [key])
                await conn.execute("DELETE FROM handoffs WHERE key = %s", [key])
                # Keep the message ids (a redelivered webhook stays a duplicate) but not whose
                # they were.
                await conn.execute("UPDATE processed_messages SET key = NULL WHERE key = %s", [key])

    # -- cache ------------------------------------------------------------------------------

    async def cache_get(self, namespace: str, key: str) -> str | None:
        with translate("reading the cache"):
            async with self._connection() as conn:
                cur = await conn.execute(
                    "SELECT value FROM cache WHERE namespace = %s AND key = %s AND expires_at > %s",
                    [namespace, key, self._clock()],
                )
                row = await cur.fetchone()
        return str(row[0]) if row else None

    async def cache_put(self, namespace: str, key: str, value: str, ttl: float) -> None:
        with translate("writing the cache"):
            async with self._connection() as conn:
                await conn.execute(
                    "INSERT INTO cache (namespace, key, value, expires_at)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (namespace, key) DO UPDATE"
                    " SET value = excluded.value, expires_at = excluded.expires_at",
                    [namespace, key, value, self._clock() + ttl],
                )

    async def cache_forget(self, namespace: str, suffixes: Sequence[str]) -> int:
        wanted = [s for s in dict.fromkeys(suffixes) if s]
        if not wanted:
            return 0
        with translate("forgetting cache entries"):
            async with self._connection() as conn:
                cur = await conn.execute(
                    "DELETE FROM cache USING unnest(%s::text[]) AS s(suffix)"
                    " WHERE cache.namespace = %s AND right(cache.key, length(s.suffix)) = s.suffix",
                    [wanted, namespace],
                )
                return cur.rowcount

    # -- timers -----------------------------------------------------------------------------

    async def _rows(
        self, what: str, query: str, params: Sequence[Any] | Mapping[str, Any]
    ) -> list[Any]:
        with translate(what):
            async with self._connection() as conn:
                cur = await conn.execute(query, params)
                return await cur.fetchall()

    async def set_timers(self, key: str, plan: Mapping[str, datetime | None]) -> None:
        if not plan:
            return
        # One statement (one round trip, atomic): a plan names each kind once, so the rows it
        # deletes and the rows it writes are never the same.
        kinds = list(plan)
        dues = [None if due is None else to_utc(due) for due in plan.values()]
        with translate("scheduling timers"):
            async with self._connection() as conn:
                await conn.execute(
                    "WITH plan AS (SELECT * FROM unnest(%(kinds)s::text[], %(dues)s::timestamptz[])"
                    " AS plan (kind, due)),"
                    " cancelled AS (DELETE FROM timers USING plan WHERE timers.key = %(key)s"
                    " AND timers.kind = plan.kind AND plan.due IS NULL)"
                    " INSERT INTO timers (key, kind, due_at)"
                    " SELECT %(key)s::text, kind, due FROM plan WHERE due IS NOT NULL"
                    " ON CONFLICT (key, kind) DO UPDATE SET due_at = excluded.due_at,"
                    " claimed_by = NULL, claimed_until = NULL",
                    {"key": key, "kinds": kinds, "dues": dues},
                )

    async def pending_timers(self, key: str) -> list[Timer]:
        rows = await self._rows(
            "reading timers",
            "SELECT id, key, kind, due_at, claimed_by FROM timers WHERE key = %s"
            " ORDER BY due_at, id",
            [key],
        )
        return [_timer(row) for row in rows]

    async def claim_timers(self, now: datetime, *, limit: int, lease: float) -> list[Timer]:
        # SKIP LOCKED: runners in other processes claiming at the same moment take other rows
        # instead of waiting for these.
        at = to_utc(now)
        rows = await self._rows(
            "claiming timers",
            "UPDATE timers SET claimed_by = %s, claimed_until = %s FROM ("
            " SELECT id FROM timers WHERE due_at <= %s"
            " AND (claimed_until IS NULL OR claimed_until < %s)"
            " ORDER BY due_at, id LIMIT %s FOR UPDATE SKIP LOCKED) AS due"
            " WHERE timers.id = due.id"
            " RETURNING timers.id, timers.key, timers.kind, timers.due_at, timers.claimed_by",
            [uuid.uuid4().hex, at + timedelta(seconds=lease), at, at, limit],
        )
        return sorted((_timer(row) for row in rows), key=lambda t: (t.due_at, t.id))

    async def timer_pending(self, timer: Timer) -> bool:
        rows = await self._rows(
            "checking a timer",
            "SELECT 1 FROM timers WHERE id = %s AND claimed_by IS NOT DISTINCT FROM %s",
            [timer.id, timer.claim],
        )
        return bool(rows)

    async def finish_timer(self, timer: Timer) -> None:
        await self._rows(
            "finishing a timer",
            "DELETE FROM timers WHERE id = %s AND claimed_by IS NOT DISTINCT FROM %s RETURNING id",
            [timer.id, timer.claim],
        )

    # -- the agents' queue ------------------------------------------------------------------

    async def enqueue_handoff(self, key: str, reason: str, at: datetime) -> HandoffTicket:
        with translate("queueing a handoff"):
            async with self._connection() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO handoffs (key, status, reason, since)"
                    " VALUES (%s, 'waiting', %s, %s)"
                    " ON CONFLICT (key) WHERE status <> 'closed' DO NOTHING",
                    [key, reason, to_utc(at)],
                )
                cur = await conn.execute(
                    "SELECT id, key, status, reason, since, agent, claimed_at, closed_at, outcome"
                    " FROM handoffs"
                    " WHERE key = %s AND status <> 'closed'",
                    [key],
                )
                row = await cur.fetchone()
        assert row is not None  # just inserted, or the open one that prevented it
        return _ticket(row)

    async def open_handoff(self, key: str) -> HandoffTicket | None:
        rows = await self._rows(
            "reading a handoff",
            "SELECT id, key, status, reason, since, agent, claimed_at, closed_at, outcome"
            " FROM handoffs WHERE key = %s AND status <> 'closed'",
            [key],
        )
        return _ticket(rows[0]) if rows else None

    async def waiting_handoffs(self, limit: int = 100) -> list[HandoffTicket]:
        rows = await self._rows(
            "reading the queue",
            "SELECT id, key, status, reason, since, agent, claimed_at, closed_at, outcome"
            " FROM handoffs WHERE status = 'waiting'"
            " ORDER BY since, id LIMIT %s",
            [limit],
        )
        return [_ticket(row) for row in rows]

    async def claim_handoff(self, key: str, agent: str, at: datetime) -> HandoffTicket | None:
        with translate("claiming a handoff"):
            async with self._connection() as conn, conn.transaction():
                cur = await conn.execute(
                    "UPDATE handoffs SET status = 'claimed', agent = %s, claimed_at = %s"
                    " WHERE key = %s AND status = 'waiting'"
                    " RETURNING id, key, status, reason, since, agent,"
                    " claimed_at, closed_at, outcome",
                    [agent, to_utc(at), key],
                )
                row = await cur.fetchone()
                if row is not None:
                    await conn.execute(
                        "DELETE FROM timers WHERE key = %s AND kind = %s", [key, HANDOFF_RELEASE]
                    )
        return None if row is None else _ticket(row)

    async def close_handoff(
        self, key: str, outcome: str, at: datetime, *, waiting_only: bool = False
    ) -> HandoffTicket | None:
        with translate("closing a handoff"):
            async with self._connection() as conn, conn.transaction():
                cur = await conn.execute(
                    "UPDATE handoffs SET status = 'closed', outcome = %s, closed_at = %s"
                    " WHERE key = %s AND status <> 'closed' AND (NOT %s OR status = 'waiting')"
                    " RETURNING id, key, status, reason, since, agent,"
                    " claimed_at, closed_at, outcome",
                    [outcome, to_utc(at), key, waiting_only],
                )
                row = await cur.fetchone()
                await conn.execute(
                    "DELETE FROM timers WHERE key = %s AND kind = %s", [key, HANDOFF_RELEASE]
                )
        return None if row is None else _ticket(row)

    async def record_agent_message(self, key: str, text: str, at: datetime) -> None:
        with translate("recording an agent's message"):
            async with self._connection() as conn:
                await conn.execute(
                    "INSERT INTO transcript (key, role, text, at) VALUES (%s, 'agent', %s, %s)",
                    [key, text, to_utc(at)],
                )

    # -- the agent console (AgentStore) ------------------------------------------------------

    async def add_agent(self, name: str, password_hash: str, at: datetime) -> bool:
        rows = await self._rows(
            "adding an agent",
            "INSERT INTO agents (name, password_hash, created_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (name) DO NOTHING RETURNING name",
            [name, password_hash, to_utc(at)],
        )
        return bool(rows)

    async def agent_password(self, name: str) -> str | None:
        rows = await self._rows(
            "reading an agent", "SELECT password_hash FROM agents WHERE name = %s", [name]
        )
        return str(rows[0][0]) if rows else None

    async def set_agent_password(self, name: str, password_hash: str) -> bool:
        rows = await self._rows(
            "changing an agent's password",
            "UPDATE agents SET password_hash = %s WHERE name = %s RETURNING name",
            [password_hash, name],
        )
        return bool(rows)

    async def list_agents(self) -> list[AgentAccount]:
        rows = await self._rows(
            "listing agents", "SELECT name, created_at FROM agents ORDER BY name", []
        )
        return [AgentAccount(name=row[0], created_at=row[1].astimezone(UTC)) for row in rows]

    async def remove_agent(self, name: str) -> bool:
        with translate("removing an agent"):
            async with self._connection() as conn, conn.transaction():
                await conn.execute("DELETE FROM agent_sessions WHERE agent = %s", [name])
                await conn.execute(RETURN_CLAIMED_SQL, [name])
                cur = await conn.execute(
                    "DELETE FROM agents WHERE name = %s RETURNING name", [name]
                )
                row = await cur.fetchone()
        return row is not None

    async def create_agent_session(
        self, token_hash: str, agent: str, at: datetime, expires_at: datetime
    ) -> None:
        with translate("recording a login"):
            async with self._connection() as conn, conn.transaction():
                await conn.execute("DELETE FROM agent_sessions WHERE expires_at <= %s", [at])
                await conn.execute(
                    "INSERT INTO agent_sessions (token_hash, agent, created_at, expires_at)"
                    " VALUES (%s, %s, %s, %s)",
                    [token_hash, agent, to_utc(at), to_utc(expires_at)],
                )

    async def agent_session(self, token_hash: str, now: datetime) -> AgentSession | None:
        rows = await self._rows(
            "reading a login",
            "SELECT s.agent, s.expires_at FROM agent_sessions s JOIN agents a ON a.name = s.agent"
            " WHERE s.token_hash = %s AND s.expires_at > %s",
            [token_hash, to_utc(now)],
        )
        if not rows:
            return None
        return AgentSession(agent=rows[0][0], expires_at=rows[0][1].astimezone(UTC))

    async def end_agent_session(self, token_hash: str) -> None:
        with translate("ending a login"):
            async with self._connection() as conn:
                await conn.execute("DELETE FROM agent_sessions WHERE token_hash = %s", [token_hash])

    async def handoff(self, ticket_id: int) -> HandoffTicket | None:
        rows = await self._rows(
            "reading a handoff",
            "SELECT id, key, status, reason, since, agent, claimed_at, closed_at, outcome"
            " FROM handoffs WHERE id = %s",
            [ticket_id],
        )
        return _ticket(rows[0]) if rows else None

    async def open_handoffs(self, limit: int = 200) -> list[HandoffTicket]:
        rows = await self._rows(
            "reading the queue",
            "SELECT id, key, status, reason, since, agent, claimed_at, closed_at, outcome"
            " FROM handoffs WHERE status <> 'closed' ORDER BY since, id LIMIT %s",
            [limit],
        )
        return [_ticket(row) for row in rows]

    # -- the inbox (InboxStore) --------------------------------------------------------------

    async def inbox_put(self, inbound: Inbound, owner: str, lease: float) -> int | None:
        now = self._clock()
        rows = await self._rows(
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
        return int(rows[0][0]) if rows else None

    async def inbox_claim(
        self, owner: str, lease: float, limit: int, *, orphans: Sequence[str] = ()
    ) -> list[InboxEntry]:
        now = self._clock()
        with translate("claiming inbox entries"):
            async with self._connection() as conn, conn.transaction():
                # Claimers take turns (each statement of a READ COMMITTED transaction sees what
                # committed before it began): with SKIP LOCKED alone, a second claimer could
                # take a conversation's later entry while the first still holds its earlier
                # ones uncommitted, and run them out of order.
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(%s)", [_lock_id(self._namespace, "inbox claim")]
                )
                cur = await conn.execute(
                    _INBOX_CLAIM,
                    {
                        "owner": owner,
                        "until": now + lease,
                        "now": now,
                        "orphans": list(orphans),
                        "limit": limit,
                    },
                )
                rows = await cur.fetchall()
        return sorted(
            (InboxEntry(id=row[0], inbound=inbound_from_json(row[1])) for row in rows),
            key=lambda entry: entry.id,
        )

    async def inbox_holders(self) -> list[str]:
        rows = await self._rows(
            "reading inbox leases",
            "SELECT DISTINCT claimed_by FROM inbox WHERE claimed_until >= %s",
            [self._clock()],
        )
        return sorted(str(row[0]) for row in rows)

    async def inbox_renew(self, owner: str, lease: float) -> int:
        rows = await self._rows(
            "renewing inbox leases",
            "UPDATE inbox SET claimed_until = %s WHERE claimed_by = %s RETURNING id",
            [self._clock() + lease, owner],
        )
        return len(rows)

    async def inbox_done(self, entry_id: int, owner: str) -> None:
        await self._rows(
            "finishing an inbox entry",
            "DELETE FROM inbox WHERE id = %s AND claimed_by = %s RETURNING id",
            [entry_id, owner],
        )

    async def inbox_release(self, owner: str) -> int:
        rows = await self._rows(
            "releasing inbox entries",
            "UPDATE inbox SET claimed_by = NULL, claimed_until = NULL WHERE claimed_by = %s"
            " RETURNING id",
            [owner],
        )
        return len(rows)

    async def inbox_pending(self) -> int:
        rows = await self._rows("counting inbox entries", "SELECT count(*) FROM inbox", [])
        return int(rows[0][0])
