"""The embedded store: one SQLite file (WAL), shared safely by several processes.

One plain :mod:`sqlite3` connection per store, with a database thread beside the event loop
(:mod:`~bot.storage.sqlite.connection`: where each operation runs, and why); conversation locks
as lease rows other processes respect (:mod:`~bot.storage.sqlite.leases`, on
:mod:`bot.storage.leases`); the store itself,
with the operations SQLite runs its own way (:mod:`~bot.storage.sqlite.store`). The SQL it shares
with PostgreSQL is in :mod:`bot.storage.queries`.
"""

from bot.storage.sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
