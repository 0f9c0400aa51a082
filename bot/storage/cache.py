"""The cache port: values kept for a while (geocoding answers), shared by the processes on the
database. ``tests/storage/test_cache.py`` is the contract suite, on every adapter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

__all__ = ["CacheStore"]


class CacheStore(ABC):
    """Values by (namespace, key), each with its time to live on the store's clock. Every method
    may raise :class:`bot.errors.StorageError`."""

    @abstractmethod
    async def cache_get(self, namespace: str, key: str) -> str | None:
        """A cached value (e.g. a geocoding answer), or None when absent or expired."""

    @abstractmethod
    async def cache_put(self, namespace: str, key: str, value: str, ttl: float) -> None:
        """Cache ``value`` for ``ttl`` seconds."""

    @abstractmethod
    async def cache_forget(self, namespace: str, suffixes: Sequence[str]) -> int:
        """Delete the cache entries of ``namespace`` whose key ends with one of ``suffixes``
        (an erasure removes the lookups it can attribute to a customer); returns how many."""
