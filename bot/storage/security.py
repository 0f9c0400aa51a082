"""The security port: the console's login throttle and the secrets processes share.

A part of :class:`bot.storage.base.Store` kept in the database, so that several ``ozbot serve``
processes behind one load balancer act as one: an attacker spreading guesses over them gets the
same limit as one process would give, and a web-chat cookie one process signed is valid on the
others. ``tests/storage/test_security.py`` is its contract suite, on every adapter.

Attempts are counted per key (``a:<account>``, ``ip:<address>``) in a fixed window that starts
at the first attempt: one atomic statement counts the attempt and returns the count, so
concurrent logins cannot all pass a check made before any of them is counted.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

__all__ = ["Attempts", "SecurityStore"]


@dataclass(frozen=True)
class Attempts:
    """``count`` attempts on a key in its current window (this one included), which ends in
    ``retry_after`` seconds."""

    count: int
    retry_after: float


class SecurityStore(ABC):
    """Every method may raise :class:`bot.errors.StorageError`."""

    @abstractmethod
    async def count_attempt(self, key: str, window: float) -> Attempts:
        """Count one attempt on ``key`` and return the window's count, this one included (one
        atomic statement: two concurrent calls never see the same count). A key whose window
        has ended starts a new one of ``window`` seconds."""

    @abstractmethod
    async def uncount_attempt(self, key: str) -> None:
        """Take one attempt back (a login that succeeded from an address). Never below 0."""

    @abstractmethod
    async def clear_attempts(self, key: str) -> None:
        """Forget ``key``'s attempts (a login that succeeded on an account). Idempotent."""

    @abstractmethod
    async def shared_secret(self, name: str, candidate: str) -> str:
        """The secret kept under ``name``; the first caller's ``candidate`` becomes it (one
        atomic statement: concurrent first callers all get the same one)."""
