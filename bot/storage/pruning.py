"""The pruning port: deleting the rows nobody will read again, so tables do not grow forever.

A part of :class:`bot.storage.base.Store` the periodic job (:mod:`bot.ops.pruning`) calls.
``tests/storage/test_pruning.py`` is its contract suite, on every adapter. What goes: message
ids older than a retention (they guard against re-delivery, which messengers give up within a
day), expired cache entries, ended agent sessions, login-throttle windows that are over.
Conversations, transcripts and the agents' queue are the provider's records and stay; inbox
and outbox rows are deleted as soon as they are done.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

__all__ = ["PruningStore"]


class PruningStore(ABC):
    """Every method may raise :class:`bot.errors.StorageError`."""

    @abstractmethod
    async def prune(
        self, *, messages_before: datetime, now: datetime, batch: int = 1000
    ) -> dict[str, int]:
        """Delete message ids recorded before ``messages_before`` and what has ended by
        ``now``; returns how many rows went, by kind (``message_ids``, ``cache``,
        ``agent_sessions``, ``login_attempts``). Deletes ``batch`` rows per statement, so no
        statement holds the database long; safe to run in several processes at once."""
