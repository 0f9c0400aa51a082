"""PostgreSQL's connections: the pool, opening (with the migrations) and the mapping of psycopg's
errors.

Every call borrows a pooled connection for one statement or one transaction and gives it back:
a conversation lock is a lease row (:mod:`bot.storage.postgres.leases`), not a session, so a
turn ties up no connection while it waits for OZmap or a messenger.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.errors import StorageError
from bot.storage._common import DriverErrors
from bot.storage.migrations import SCHEMA_VERSION_DDL, Migration, pending
from bot.storage.queries import POSTGRES

__all__ = ["Conn", "Connections", "describe_dsn", "lock_id", "translate"]

log = logging.getLogger(__name__)

Conn = AsyncConnection[tuple[Any, ...]]


def scrubbed(exc: Exception) -> Exception:
    """``exc`` (a psycopg error) as one of the same class saying only what went wrong: the
    server's primary message and SQLSTATE, without the DETAIL and CONTEXT lines that quote the
    statement's values (a customer's message, a phone number). Data exceptions (class 22)
    quote the value in the primary message too: only their class and SQLSTATE are kept. The
    traceback stays, for the place it was raised."""
    if not isinstance(exc, psycopg.Error):
        return exc
    state = exc.diag.sqlstate
    if state is None:  # raised by psycopg itself, before the server: says no value
        said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    elif state.startswith("22"):
        said = f"{type(exc).__name__}: the server refused a value [{state}]"
    else:
        said = f"{exc.diag.message_primary or type(exc).__name__} [{state}]"
    clean = type(exc)(said)
    return clean.with_traceback(exc.__traceback__)


@functools.cache
def translate(what: str) -> DriverErrors:
    """psycopg's errors in the block become :class:`StorageError` naming ``what``, scrubbed of
    the values they quote (:func:`scrubbed`). Made once per ``what`` and reused (it keeps
    nothing between uses): it runs around every statement."""
    return DriverErrors("PostgreSQL", psycopg.Error, what, scrubbed)


def describe_dsn(dsn: str) -> str:
    """The DSN without its password, for messages: ``postgresql://user@host:port/dbname``."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<malformed DATABASE_URL>"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


def lock_id(namespace: str, key: str) -> int:
    """A stable signed 64-bit advisory-lock id (Python's hash() differs between processes)."""
    digest = hashlib.blake2b(f"{namespace}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Connections:
    """A pool of connections to ``dsn``, each set to UTC and (when given) to ``schema``.
    ``namespace`` keeps the advisory locks of separate schemas apart."""

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None,
        namespace: str,
        min_size: int,
        max_size: int,
        open_timeout: float,
    ) -> None:
        self.dsn = dsn
        self.schema = schema
        self.namespace = namespace
        self._min_size = min_size
        self._max_size = max_size
        self._open_timeout = open_timeout
        self._pool: AsyncConnectionPool[Conn] | None = None

    def pool(self) -> AsyncConnectionPool[Conn]:
        """The open pool; StorageError when the store is not open."""
        if self._pool is None:
            raise StorageError("the store is not open: call `await store.open()` first")
        return self._pool

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """A connection from the pool, for one statement or one transaction."""
        async with self.pool().connection() as conn:
            yield conn

    # -- life cycle -------------------------------------------------------------------------

    async def open(self, migrations: Sequence[Migration]) -> None:
        """Migrate the schema, then open the pool. Idempotent."""
        if self._pool is not None:
            return
        # A direct connection first: it reports the real reason (refused, bad password, no such
        # database) where a pool would only time out, and it runs the migrations.
        try:
            conn = await AsyncConnection.connect(
                self.dsn, autocommit=True, connect_timeout=max(1, round(self._open_timeout))
            )
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot connect to PostgreSQL at {describe_dsn(self.dsn)} ({exc}): check "
                "DATABASE_URL and that the server is running"
            ) from exc
        with translate("migration"):
            async with conn:
                await self._migrate(conn, migrations)
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            self.dsn,
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
                f"PostgreSQL at {describe_dsn(self.dsn)} did not give {self._min_size} "
                f"connection(s) within {self._open_timeout:g}s: check max_connections"
            ) from exc
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _configure(self, conn: Conn) -> None:
        await conn.execute("SET TIME ZONE 'UTC'")
        if self.schema is not None:
            await conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))

    async def _migrate(self, conn: Conn, migrations: Sequence[Migration]) -> None:
        async with conn.transaction():
            # Held to the end of the transaction: a second process starting now waits here and
            # then finds nothing pending.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(%s)", [lock_id(self.namespace, "migrations")]
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
            if current > len(migrations):
                raise StorageError(
                    f"the database has schema version {current}, newer than this ozbot knows "
                    f"({len(migrations)}): upgrade ozbot"
                )
            for version, name, sqls in pending(migrations, current, "postgres"):
                for statement in sqls:
                    await conn.execute(statement.encode())
                await conn.execute(POSTGRES.record_version, [version, name, datetime.now(UTC)])
                log.info("postgres schema migrated to version %d (%s)", version, name)
