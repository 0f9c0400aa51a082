"""The counter port: named sequences that never hand out a number twice (the reservation codes'
``{seq}``), shared by every process on the database. ``tests/storage/test_counters.py`` is the
contract suite, on every adapter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

__all__ = ["CounterStore"]


class CounterStore(ABC):
    """Durable counters by name. Every method may raise :class:`bot.errors.StorageError`."""

    @abstractmethod
    async def next_value(self, name: str) -> int:
        """The next value of the counter ``name``: 1 the first time, then one more each call,
        across processes and restarts; never the same value twice (one atomic statement)."""
