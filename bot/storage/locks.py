"""The locks port: one conversation's turns at a time, across tasks and processes.

The engine takes the lock *before* it loads the conversation (aiogram issue #1317 is the bug this
avoids) and holds it until the turn is committed. SQLite's adapter keeps a lease row per held
conversation; PostgreSQL's holds an advisory lock on a connection of its own.
``tests/storage/test_locks.py`` is the contract suite, on every adapter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager

__all__ = ["ConversationLocks"]


class ConversationLocks(ABC):
    """Exclusive holds on conversation keys."""

    @abstractmethod
    def lock(self, key: str, timeout: float = 30.0) -> AbstractAsyncContextManager[None]:
        """Hold the conversation ``key`` exclusively, across tasks *and* processes sharing the
        database, until the context exits. Waiters are served in arrival order within a process.
        Raises :class:`bot.errors.LockTimeout` after ``timeout`` seconds, and
        :class:`bot.errors.StorageError` when the database fails."""
