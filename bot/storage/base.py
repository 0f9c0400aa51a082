"""The store port: everything the engine, the web layer and the console keep in the database.

:class:`Store` is the sum of small ports, one per concern, each with its own contract suite run
against every adapter (SQLite file and PostgreSQL schema alike)::

    ConversationStore   conversations.py   the record, its turns and transcript, erasure
    ConversationLocks   locks.py           one turn per conversation at a time, across processes
    TimerStore          timers.py          pending timers and the runners' claims on them
    HandoffQueue        handoffs.py        the agents' queue
    CacheStore          cache.py           values kept for a while (geocoding answers)
    InboxStore          inbox.py           accepted messages until their turn has run
    OutboxStore         outbox.py          a turn's replies until they are sent
    AgentStore          agents.py          the console's accounts and login sessions
    CounterStore        counters.py        named sequences (the reservation codes' {seq})
    SecurityStore       security.py        the login throttle, secrets processes share
    PruningStore        pruning.py         deleting rows nobody will read again
    NewsStore           news.py            messages every process hears (LISTEN/NOTIFY)

Code that holds the one store object types it :class:`Store`; code that needs one concern only
may be typed with that part (the geocoding cache takes a :class:`CacheStore`). Adapters:
:class:`bot.storage.sqlite.SqliteStore` (the embedded default) and
:class:`bot.storage.postgres.PostgresStore`; the SQL they share is in :mod:`bot.storage.queries`
and :mod:`bot.storage.shared`.

The port's value types are importable from here too, as they always were.
"""

from __future__ import annotations

from abc import abstractmethod

from bot.storage.agents import AgentStore
from bot.storage.cache import CacheStore
from bot.storage.conversations import ConversationStore
from bot.storage.counters import CounterStore
from bot.storage.handoffs import HANDOFF_RELEASE, HandoffQueue, HandoffStatus, HandoffTicket
from bot.storage.inbox import InboxStore
from bot.storage.locks import ConversationLocks
from bot.storage.news import NewsStore
from bot.storage.outbox import OutboxStore
from bot.storage.pruning import PruningStore
from bot.storage.security import SecurityStore
from bot.storage.timers import Timer, TimerStore

__all__ = [
    "HANDOFF_RELEASE",
    "AgentStore",
    "CacheStore",
    "ConversationLocks",
    "ConversationStore",
    "CounterStore",
    "HandoffQueue",
    "HandoffStatus",
    "HandoffTicket",
    "InboxStore",
    "NewsStore",
    "OutboxStore",
    "PruningStore",
    "SecurityStore",
    "Store",
    "Timer",
    "TimerStore",
]


class Store(
    ConversationStore,
    ConversationLocks,
    TimerStore,
    HandoffQueue,
    CacheStore,
    InboxStore,
    OutboxStore,
    AgentStore,
    CounterStore,
    SecurityStore,
    PruningStore,
    NewsStore,
):
    """Every part of the port, on one database, with its life cycle. Every method may raise
    :class:`bot.errors.StorageError`."""

    @abstractmethod
    async def open(self) -> None:
        """Connect, and create or migrate the schema. Idempotent."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections. Idempotent."""

    @abstractmethod
    async def schema_version(self) -> int:
        """The number of migrations applied to the database."""
