"""``ozbot migrate`` (apply the pending schema migrations) and ``ozbot migrate --check`` (exit 1
when some are pending: a release pipeline runs it before switching traffic).

``ozbot serve`` still migrates at start-up, under the store's lock (PostgreSQL advisory lock,
SQLite ``BEGIN IMMEDIATE``), so running ``migrate`` first is optional; it lets a release apply
them once, on its own, and see the result before the new processes start.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from dataclasses import dataclass
from typing import Any

import psycopg

from bot.errors import StorageError
from bot.settings import load_settings
from bot.storage import make_store
from bot.storage.migrations import MIGRATIONS
from bot.storage.postgres import describe_dsn
from bot.storage.queries import POSTGRES, SQLITE
from bot.storage.sqlite import SqliteStore

__all__ = ["SchemaStatus", "migrate", "register", "schema_status"]


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands: ``current`` of the ``latest`` this ozbot knows."""

    database: str  # for messages: no password
    current: int
    latest: int

    @property
    def pending(self) -> tuple[str, ...]:
        """The names of the migrations not yet applied, in order."""
        return tuple(m.name for m in MIGRATIONS[self.current : self.latest])

    @property
    def newer(self) -> bool:
        """The database was migrated by a newer ozbot than this one."""
        return self.current > self.latest

    def describe(self) -> str:
        if self.newer:
            return (
                f"{self.database} is at schema version {self.current}, newer than this ozbot "
                f"knows ({self.latest}): upgrade ozbot"
            )
        if self.pending:
            return (
                f"{self.database} is at schema version {self.current} of {self.latest}; "
                f"pending: {', '.join(self.pending)}: run `ozbot migrate`"
            )
        return f"{self.database} is at schema version {self.current}, the latest"


def _sqlite_version(path: str) -> int:
    try:
        # read-only: checking must not create the file nor take the write lock
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            if not db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone():
                return 0
            return int(db.execute(SQLITE.schema_version).fetchone()[0])
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read {path} ({exc}): check DATABASE_URL") from exc


async def _postgres_version(url: str) -> int:
    try:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=5) as conn:
            cur = await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")
            row = await cur.fetchone()
            if not row or not row[0]:
                return 0
            cur = await conn.execute(POSTGRES.schema_version)
            row = await cur.fetchone()
            return int(row[0]) if row else 0
    except psycopg.Error as exc:
        raise StorageError(
            f"cannot read the schema of PostgreSQL at {describe_dsn(url)} ({exc}): check "
            "DATABASE_URL and that the server is running"
        ) from exc


async def schema_status(url: str) -> SchemaStatus:
    """Read the schema version of the database at ``url`` without changing anything.

    Raises :class:`ConfigError` for a URL ozbot cannot use, :class:`StorageError` when the
    database cannot be read."""
    store = make_store(url)  # validates the URL the way the server will
    latest = len(MIGRATIONS)
    if isinstance(store, SqliteStore):
        if not store.path.is_file():
            return SchemaStatus(f"SQLite file {store.path} (not created yet)", 0, latest)
        current = await asyncio.to_thread(_sqlite_version, str(store.path))
        return SchemaStatus(f"SQLite file {store.path}", current, latest)
    return SchemaStatus(f"PostgreSQL at {describe_dsn(url)}", await _postgres_version(url), latest)


async def migrate(url: str) -> tuple[SchemaStatus, SchemaStatus]:
    """Apply the pending migrations (the store does it when it opens, under its lock); returns
    the status before and after."""
    before = await schema_status(url)
    if before.newer:
        return before, before
    store = make_store(url)
    await store.open()
    await store.close()
    return before, await schema_status(url)


def _handler(args: argparse.Namespace) -> int:
    url = load_settings().effective_database_url
    if args.check:
        status = asyncio.run(schema_status(url))
        print(status.describe())
        return 0 if status.current == status.latest else 1
    before, after = asyncio.run(migrate(url))
    if before.newer:
        print(before.describe())
        return 1
    if before.current == after.current:
        print(after.describe() + ": nothing to do")
    else:
        applied = ", ".join(before.pending)
        print(
            f"{after.database}: migrated from schema version {before.current} to "
            f"{after.current} ({applied})"
        )
    return 0


def register(subparsers: Any) -> None:
    """``ozbot migrate [--check]``."""
    parser = subparsers.add_parser(
        "migrate",
        help="apply the database's pending schema migrations (DATABASE_URL)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 when migrations are pending (or the database is newer)",
    )
    parser.set_defaults(handler=_handler)
