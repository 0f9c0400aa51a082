"""The store port: where conversations, their transcripts and caches live.

Adapters: :class:`bot.storage.sqlite.SqliteStore` (the embedded default) and
:class:`bot.storage.postgres.PostgresStore`. One contract test suite
(``tests/storage/test_contract.py``) runs against both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager

from bot.conversation import Conversation, TranscriptEntry

__all__ = ["Store"]


class Store(ABC):
    """Persistence for the engine. Every method may raise :class:`bot.errors.StorageError`."""

    @abstractmethod
    async def open(self) -> None:
        """Connect, and create or migrate the schema. Idempotent."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections. Idempotent."""

    @abstractmethod
    def lock(self, key: str, timeout: float = 30.0) -> AbstractAsyncContextManager[None]:
        """Hold the conversation ``key`` exclusively, across tasks *and* processes sharing the
        database, until the context exits. Waiters are served in arrival order within a process.
        Raises :class:`bot.errors.LockTimeout` after ``timeout`` seconds."""

    @abstractmethod
    async def load(self, key: str) -> Conversation | None:
        """The saved conversation, or None for a new contact."""

    @abstractmethod
    async def seen(self, provider_id: str) -> bool:
        """Whether a message with this provider id was already committed by a turn."""

    @abstractmethod
    async def commit_turn(
        self,
        conversation: Conversation,
        transcript: Sequence[TranscriptEntry],
        provider_id: str | None = None,
    ) -> bool:
        """In one transaction: record ``provider_id`` (if given), save ``conversation``, append
        ``transcript``. Returns False, writing nothing, when ``provider_id`` was already recorded.
        """

    @abstractmethod
    async def transcript(self, key: str, limit: int | None = None) -> list[TranscriptEntry]:
        """The conversation's transcript, oldest first (the last ``limit`` entries if given)."""

    @abstractmethod
    async def cache_get(self, namespace: str, key: str) -> str | None:
        """A cached value (e.g. a geocoding answer), or None when absent or expired."""

    @abstractmethod
    async def cache_put(self, namespace: str, key: str, value: str, ttl: float) -> None:
        """Cache ``value`` for ``ttl`` seconds."""

    @abstractmethod
    async def forget(self, key: str) -> None:
        """Delete everything stored about one conversation (LGPD erasure): record, transcript."""
