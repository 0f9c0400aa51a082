"""The database schema, as an ordered list of migrations for both dialects.

Each store applies the pending ones in ``open()``, in one transaction, and records each in the
``schema_version`` table (SQLite under ``BEGIN IMMEDIATE``, PostgreSQL under an advisory lock, so
two processes starting together do not race). Version ``n`` is the ``n``-th entry of
:data:`MIGRATIONS`; a database newer than the code is refused.

Adding a migration (timers, the agents' queue, agent accounts...) is one entry appended at the
end of :data:`MIGRATIONS`::

    Migration("timers", sqlite=_SQLITE_TIMERS, postgres=_POSTGRES_TIMERS),

Never edit or reorder an entry that has shipped: databases in the field already ran it. A
migration's SQL may hold several statements separated by ``;`` at the end of a line (the split is
textual, so keep ``;`` out of string literals). SQLite stores times as ISO-8601 UTC text
(``2024-05-01T12:00:00.000000+00:00``, which sorts chronologically) and JSON as text; PostgreSQL
uses ``timestamptz`` and ``jsonb``. Cache expiry is epoch seconds (``REAL``/``double precision``)
from the store's clock in both, and so are the inbox's leases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["MIGRATIONS", "SCHEMA_VERSION_DDL", "Dialect", "Migration", "pending", "statements"]

Dialect = Literal["sqlite", "postgres"]


@dataclass(frozen=True)
class Migration:
    """One step of the schema; ``name`` is recorded beside its version number."""

    name: str
    sqlite: str
    postgres: str

    def sql(self, dialect: Dialect) -> str:
        return self.sqlite if dialect == "sqlite" else self.postgres


SCHEMA_VERSION_DDL: dict[Dialect, str] = {
    "sqlite": "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    "postgres": "CREATE TABLE IF NOT EXISTS schema_version ("
    " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)",
}

_SQLITE_INITIAL = """
CREATE TABLE conversations (
    key TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    contact TEXT NOT NULL,
    flow TEXT NOT NULL,
    state TEXT NOT NULL,
    language TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT '{}',
    failures INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE transcript (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX transcript_key ON transcript (key, id);
CREATE TABLE processed_messages (
    provider_id TEXT PRIMARY KEY,
    key TEXT,
    at TEXT NOT NULL
);
CREATE INDEX processed_messages_key ON processed_messages (key);
CREATE TABLE cache (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE TABLE locks (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
);
"""

_POSTGRES_INITIAL = """
CREATE TABLE conversations (
    key text PRIMARY KEY,
    channel text NOT NULL,
    contact text NOT NULL,
    flow text NOT NULL,
    state text NOT NULL,
    language text NOT NULL,
    context jsonb NOT NULL DEFAULT '{}',
    failures integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE TABLE transcript (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key text NOT NULL,
    role text NOT NULL,
    text text NOT NULL,
    at timestamptz NOT NULL
);
CREATE INDEX transcript_key ON transcript (key, id);
CREATE TABLE processed_messages (
    provider_id text PRIMARY KEY,
    key text,
    at timestamptz NOT NULL
);
CREATE INDEX processed_messages_key ON processed_messages (key);
CREATE TABLE cache (
    namespace text NOT NULL,
    key text NOT NULL,
    value text NOT NULL,
    expires_at double precision NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""

# One pending timer per (conversation, kind): scheduling again moves it. ``claimed_by`` and
# ``claimed_until`` are a runner's lease: a runner that died leaves timers due again once the
# lease ends. At most one open (waiting or claimed) handoff per conversation, by the partial
# unique index; closed ones stay as the queue's history until the conversation is forgotten.
_SQLITE_TIMERS_AND_HANDOFFS = """
CREATE TABLE timers (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at TEXT NOT NULL,
    claimed_by TEXT,
    claimed_until TEXT,
    UNIQUE (key, kind)
);
CREATE INDEX timers_due ON timers (due_at);
CREATE TABLE handoffs (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    agent TEXT,
    since TEXT NOT NULL,
    claimed_at TEXT,
    closed_at TEXT,
    outcome TEXT
);
CREATE UNIQUE INDEX handoffs_open ON handoffs (key) WHERE status <> 'closed';
CREATE INDEX handoffs_status ON handoffs (status, since);
"""

_POSTGRES_TIMERS_AND_HANDOFFS = """
CREATE TABLE timers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key text NOT NULL,
    kind text NOT NULL,
    due_at timestamptz NOT NULL,
    claimed_by text,
    claimed_until timestamptz,
    UNIQUE (key, kind)
);
CREATE INDEX timers_due ON timers (due_at);
CREATE TABLE handoffs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key text NOT NULL,
    status text NOT NULL,
    reason text NOT NULL,
    agent text,
    since timestamptz NOT NULL,
    claimed_at timestamptz,
    closed_at timestamptz,
    outcome text
);
CREATE UNIQUE INDEX handoffs_open ON handoffs (key) WHERE status <> 'closed';
CREATE INDEX handoffs_status ON handoffs (status, since);
"""

# The agent console: accounts (argon2 hashes) and login sessions (SHA-256 digests of the
# cookie's token). Removing an account deletes its sessions in the same transaction.
_SQLITE_AGENTS = """
CREATE TABLE agents (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE agent_sessions (
    token_hash TEXT PRIMARY KEY,
    agent TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX agent_sessions_agent ON agent_sessions (agent);
"""

_POSTGRES_AGENTS = """
CREATE TABLE agents (
    name text PRIMARY KEY,
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE agent_sessions (
    token_hash text PRIMARY KEY,
    agent text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX agent_sessions_agent ON agent_sessions (agent);
"""

# Accepted messages until their turn has run (see bot/storage/inbox.py). ``message`` is the
# Inbound as JSON; the unique provider id makes a re-delivered webhook a no-op; (key, id) finds
# the earlier entries of a conversation when claiming. Leases are epoch seconds from the store's
# clock, like cache expiry. Rows are deleted when done, so the table holds only what is in
# flight.
_SQLITE_INBOX = """
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    provider_id TEXT UNIQUE,
    message TEXT NOT NULL,
    received_at TEXT NOT NULL,
    claimed_by TEXT,
    claimed_until REAL
);
CREATE INDEX inbox_key ON inbox (key, id);
"""

_POSTGRES_INBOX = """
CREATE TABLE inbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key text NOT NULL,
    provider_id text UNIQUE,
    message jsonb NOT NULL,
    received_at timestamptz NOT NULL,
    claimed_by text,
    claimed_until double precision
);
CREATE INDEX inbox_key ON inbox (key, id);
"""

_SQLITE_COUNTERS = """
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

_POSTGRES_COUNTERS = """
CREATE TABLE counters (
    name text PRIMARY KEY,
    value bigint NOT NULL
);
"""

# A turn's replies until they are sent (see bot/storage/outbox.py), written in the turn's own
# transaction. ``token`` is the engine's name for the row; ``id`` orders a conversation's rows;
# the lease (epoch seconds, like the inbox's) says when a sweep may send a row its owner left.
# Rows are deleted once sent, so the table holds only what is in flight.
_SQLITE_OUTBOX = """
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    key TEXT NOT NULL,
    channel TEXT NOT NULL,
    contact TEXT NOT NULL,
    replies TEXT NOT NULL,
    created_at TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    claimed_until REAL NOT NULL
);
CREATE INDEX outbox_key ON outbox (key, id);
"""

_POSTGRES_OUTBOX = """
CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token text NOT NULL UNIQUE,
    key text NOT NULL,
    channel text NOT NULL,
    contact text NOT NULL,
    replies jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    claimed_by text NOT NULL,
    claimed_until double precision NOT NULL
);
CREATE INDEX outbox_key ON outbox (key, id);
"""

# The login throttle's counts (a fixed window per key, ``until`` in epoch seconds of the store's
# clock) and the secrets processes share (web-chat cookie signing, log digests) when the
# settings give none. Both are small: a row per account or address tried, a row per secret.
_SQLITE_SECURITY = """
CREATE TABLE login_attempts (
    key TEXT PRIMARY KEY,
    attempts INTEGER NOT NULL,
    until REAL NOT NULL
);
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

_POSTGRES_SECURITY = """
CREATE TABLE login_attempts (
    key text PRIMARY KEY,
    attempts integer NOT NULL,
    until double precision NOT NULL
);
CREATE TABLE secrets (
    name text PRIMARY KEY,
    value text NOT NULL
);
"""

# How many times the messenger refused or did not answer a row's replies (retried with a
# backoff by the outbox's sweep, then given up).
_OUTBOX_ATTEMPTS = "ALTER TABLE outbox ADD COLUMN attempts integer NOT NULL DEFAULT 0"

# PostgreSQL's conversation locks as lease rows, as SQLite's always were (so a lock can be taken
# by the statement storing an inbox entry and dropped by the one finishing it: see
# bot/storage/locks.py). ``turn`` counts the drops (bot/storage/postgres/leases.py); every
# existing conversation gets its row, as a conversation created from now on does. Processes of
# an older version (advisory locks) must be stopped before this runs: the two kinds of lock do
# not exclude each other. SQLite has had its table since the first migration.
_POSTGRES_LOCKS = """
CREATE TABLE locks (
    key text PRIMARY KEY,
    owner text NOT NULL,
    expires_at double precision NOT NULL,
    turn bigint NOT NULL DEFAULT 0
);
INSERT INTO locks (key, owner, expires_at) SELECT key, '', 0 FROM conversations
"""

# SQLite's lease rows get PostgreSQL's counter (bot/storage/sqlite/leases.py): with the owner, it
# fences a turn's commit by the lease it was taken under. PostgreSQL's rows have it already.
_SQLITE_LEASE_TURNS = "ALTER TABLE locks ADD COLUMN turn INTEGER NOT NULL DEFAULT 0"

MIGRATIONS: tuple[Migration, ...] = (
    Migration("initial", sqlite=_SQLITE_INITIAL, postgres=_POSTGRES_INITIAL),
    Migration(
        "timers_and_handoffs",
        sqlite=_SQLITE_TIMERS_AND_HANDOFFS,
        postgres=_POSTGRES_TIMERS_AND_HANDOFFS,
    ),
    Migration("agents", sqlite=_SQLITE_AGENTS, postgres=_POSTGRES_AGENTS),
    Migration("inbox", sqlite=_SQLITE_INBOX, postgres=_POSTGRES_INBOX),
    Migration("counters", sqlite=_SQLITE_COUNTERS, postgres=_POSTGRES_COUNTERS),
    Migration("outbox", sqlite=_SQLITE_OUTBOX, postgres=_POSTGRES_OUTBOX),
    Migration("security", sqlite=_SQLITE_SECURITY, postgres=_POSTGRES_SECURITY),
    Migration("outbox_attempts", sqlite=_OUTBOX_ATTEMPTS, postgres=_OUTBOX_ATTEMPTS),
    Migration("lease_locks", sqlite="", postgres=_POSTGRES_LOCKS),
    Migration("lease_turns", sqlite=_SQLITE_LEASE_TURNS, postgres=""),
)


def statements(sql: str) -> list[str]:
    """The statements of a migration's SQL, split at ``;`` ending a line."""
    parts = [part.strip() for part in sql.replace("\r\n", "\n").split(";\n")]
    return [part.removesuffix(";").strip() for part in parts if part.strip(" \n;")]


def pending(
    migrations: Sequence[Migration], current: int, dialect: Dialect
) -> list[tuple[int, str, list[str]]]:
    """``(version, name, statements)`` of each migration after version ``current``."""
    return [
        (version, migration.name, statements(migration.sql(dialect)))
        for version, migration in enumerate(migrations, start=1)
        if version > current
    ]
