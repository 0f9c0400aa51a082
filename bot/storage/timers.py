"""The timers port: a conversation's pending timers (nudge, expiry, a handoff's release), and
their claims by the timer runners of every process.

``tests/storage/test_timers.py`` is the contract suite, on every adapter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Timer", "TimerStore"]


@dataclass(frozen=True)
class Timer:
    """A pending timer of one conversation, as a runner claimed it. ``claim`` identifies this
    claim: scheduling the same (key, kind) again clears it, which is how a customer's message
    makes a claimed timer stale (see :meth:`TimerStore.timer_pending`)."""

    id: int
    key: str
    kind: str
    due_at: datetime
    claim: str | None = None


class TimerStore(ABC):
    """One pending timer per (conversation, kind). Every method may raise
    :class:`bot.errors.StorageError`."""

    @abstractmethod
    async def set_timers(self, key: str, plan: Mapping[str, datetime | None]) -> None:
        """In one transaction, for each ``kind`` of ``plan``: schedule the conversation's timer
        of that kind at the given time (moving it, and clearing any claim, if it exists), or
        cancel it for None. Kinds not in ``plan`` are left alone."""

    @abstractmethod
    async def pending_timers(self, key: str) -> list[Timer]:
        """The conversation's timers, soonest first."""

    @abstractmethod
    async def claim_timers(self, now: datetime, *, limit: int, lease: float) -> list[Timer]:
        """Atomically claim up to ``limit`` timers due at ``now`` (and not under another live
        claim) for ``lease`` seconds, soonest first. Safe with several runners in several
        processes: a timer is handed to one of them; a runner that dies before
        :meth:`finish_timer` leaves it due again once the lease ends."""

    @abstractmethod
    async def due_timers(self, now: datetime) -> int:
        """How many timers are due at ``now``, claimed or not: the runners' backlog, which
        ``/metrics`` shows."""

    @abstractmethod
    async def timer_pending(self, timer: Timer) -> bool:
        """Whether ``timer`` still stands as claimed (not moved, cancelled or finished since).
        Asked under the conversation's lock, where customer turns move timers, it is final."""

    @abstractmethod
    async def finish_timer(self, timer: Timer) -> None:
        """Delete ``timer`` if it still stands as claimed (a moved timer stays scheduled)."""
