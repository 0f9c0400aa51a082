"""The store port: where conversations, their transcripts and caches live.

Adapters: :class:`bot.storage.sqlite.SqliteStore` (the embedded default) and
:class:`bot.storage.postgres.PostgresStore`. One contract test suite
(``tests/storage/test_contract.py``) runs against both.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.conversation import Conversation, TranscriptEntry
from bot.storage.cache import CacheStore

__all__ = ["HANDOFF_RELEASE", "HandoffStatus", "HandoffTicket", "Store", "Timer"]

HandoffStatus = Literal["waiting", "claimed", "closed"]
#: the timer kind that gives an unclaimed handoff back to the bot; claiming or closing the
#: ticket cancels it in the same transaction
HANDOFF_RELEASE = "handoff_release"


@dataclass(frozen=True)
class Timer:
    """A pending timer of one conversation, as a runner claimed it. ``claim`` identifies this
    claim: scheduling the same (key, kind) again clears it, which is how a customer's message
    makes a claimed timer stale (see :meth:`Store.timer_pending`)."""

    id: int
    key: str
    kind: str
    due_at: datetime
    claim: str | None = None


@dataclass(frozen=True)
class HandoffTicket:
    """A conversation in the agents' queue. ``status`` goes waiting → claimed → closed (or
    waiting → closed); ``outcome`` says how it closed (e.g. ``released``, ``resolved``,
    ``expired``, ``customer_left``)."""

    id: int
    key: str
    status: HandoffStatus
    reason: str
    since: datetime
    agent: str | None = None
    claimed_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str | None = None


class Store(CacheStore):
    """Persistence for the engine (the cache's part is :class:`CacheStore`). Every method may
    raise :class:`bot.errors.StorageError`."""

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
    async def forget(self, key: str) -> None:
        """Delete everything stored about one conversation (LGPD erasure): record, transcript,
        timers and handoff tickets. Message ids are kept, no longer tied to the conversation."""

    # -- timers -----------------------------------------------------------------------------

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
    async def timer_pending(self, timer: Timer) -> bool:
        """Whether ``timer`` still stands as claimed (not moved, cancelled or finished since).
        Asked under the conversation's lock, where customer turns move timers, it is final."""

    @abstractmethod
    async def finish_timer(self, timer: Timer) -> None:
        """Delete ``timer`` if it still stands as claimed (a moved timer stays scheduled)."""

    # -- the agents' queue ------------------------------------------------------------------

    @abstractmethod
    async def enqueue_handoff(self, key: str, reason: str, at: datetime) -> HandoffTicket:
        """Put the conversation in the queue (status ``waiting``), or return its open ticket
        when it is already there (idempotent)."""

    @abstractmethod
    async def open_handoff(self, key: str) -> HandoffTicket | None:
        """The conversation's waiting or claimed ticket, if any."""

    @abstractmethod
    async def waiting_handoffs(self, limit: int = 100) -> list[HandoffTicket]:
        """Tickets nobody has claimed yet, longest waiting first."""

    @abstractmethod
    async def claim_handoff(self, key: str, agent: str, at: datetime) -> HandoffTicket | None:
        """Atomically give the waiting ticket of ``key`` to ``agent`` (and cancel the
        conversation's ``handoff_release`` timer). None when it is not waiting: another agent
        was faster, or it was closed."""

    @abstractmethod
    async def close_handoff(
        self, key: str, outcome: str, at: datetime, *, waiting_only: bool = False
    ) -> HandoffTicket | None:
        """Close the conversation's open ticket with ``outcome`` (and cancel its
        ``handoff_release`` timer). None when it had none, or, with ``waiting_only``, when an
        agent holds it (the check and the close are one atomic step)."""

    @abstractmethod
    async def record_agent_message(self, key: str, text: str, at: datetime) -> None:
        """Append an agent's line (role ``agent``) to the conversation's transcript."""
