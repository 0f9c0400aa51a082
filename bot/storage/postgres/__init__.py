"""The PostgreSQL store: psycopg 3 (async) with a connection pool, for several processes/hosts.

The pool, opening and migrating (:mod:`~bot.storage.postgres.connection`); conversation locks
as lease rows, as on SQLite (:mod:`~bot.storage.postgres.leases`, on :mod:`bot.storage.leases`);
the store itself, with the operations PostgreSQL runs its own way
(:mod:`~bot.storage.postgres.store`). The SQL it shares with SQLite is in
:mod:`bot.storage.queries`.
"""

from bot.storage.postgres.connection import describe_dsn
from bot.storage.postgres.store import PostgresStore

__all__ = ["PostgresStore", "describe_dsn"]
