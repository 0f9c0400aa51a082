"""Storage: the :class:`Store` port, its parts, and :func:`make_store`, which picks the adapter
from a URL.

The port, one part per concern (see :mod:`bot.storage.base`): ``conversations``, ``locks``,
``timers``, ``handoffs`` (the agents' queue), ``cache``, ``inbox``, ``agents``. The SQL both
adapters share: ``queries`` (statements, column lists, row mappers) and ``shared`` (the methods
made of them). Adapters: :class:`bot.storage.sqlite.SqliteStore` (the embedded default, one
file) and :class:`bot.storage.postgres.PostgresStore` (several processes or hosts). Schema
changes live in :mod:`bot.storage.migrations`.
"""

from __future__ import annotations

from bot.errors import ConfigError
from bot.storage.base import (
    AgentStore,
    CacheStore,
    ConversationLocks,
    ConversationStore,
    HandoffQueue,
    InboxStore,
    Store,
    TimerStore,
)

__all__ = [
    "AgentStore",
    "CacheStore",
    "ConversationLocks",
    "ConversationStore",
    "HandoffQueue",
    "InboxStore",
    "Store",
    "TimerStore",
    "make_store",
]

_ACCEPTED = (
    "use sqlite:///relative/path/ozbot.db, sqlite:////absolute/path/ozbot.db or "
    "postgresql://user:password@host:5432/dbname"
)


def make_store(url: str) -> Store:
    """The store for ``url`` (the ``DATABASE_URL`` setting), not yet opened.

    ``sqlite:///data/ozbot.db`` is a path relative to the working directory,
    ``sqlite:////var/lib/ozbot/ozbot.db`` an absolute one; ``postgresql://`` and ``postgres://``
    URLs go to libpq as they are. Raises :class:`ConfigError` naming ``DATABASE_URL`` for
    anything else, including in-memory SQLite (its locks could not reach other processes, and
    every connection would see a different empty database).
    """
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme == "sqlite" and sep:
        if not rest.startswith("/"):
            raise ConfigError(
                f"DATABASE_URL sqlite://{rest.split('/')[0]}... names a host; SQLite is a local "
                f"file: {_ACCEPTED}"
            )
        path = rest[1:]
        if not path or path.endswith("/"):
            raise ConfigError(f"DATABASE_URL has no SQLite file name: {_ACCEPTED}")
        if ":memory:" in path or "mode=memory" in path:
            raise ConfigError(
                "DATABASE_URL: in-memory SQLite is not supported, because conversation locks "
                "must reach other processes through the file: give a file path, e.g. "
                "sqlite:///data/ozbot.db"
            )
        if "?" in path:
            raise ConfigError(f"DATABASE_URL: SQLite URLs take no ?options: {_ACCEPTED}")
        from bot.storage.sqlite import SqliteStore

        return SqliteStore(path)
    if scheme in {"postgresql", "postgres"} and sep:
        from bot.storage.postgres import PostgresStore

        return PostgresStore(url)
    shown = f"{scheme}://..." if sep else "a value without a scheme"
    raise ConfigError(f"DATABASE_URL is {shown}, which ozbot cannot use: {_ACCEPTED}")
