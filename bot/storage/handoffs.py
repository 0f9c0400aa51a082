"""The agents' queue port: conversations waiting for a human, claimed by one agent, closed.

The engine enqueues and closes tickets and records agents' lines; the console lists, claims and
reads them. ``tests/storage/test_handoffs.py`` is the contract suite, on every adapter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = ["HANDOFF_RELEASE", "HandoffQueue", "HandoffStatus", "HandoffTicket"]

HandoffStatus = Literal["waiting", "claimed", "closed"]
#: the timer kind that gives an unclaimed handoff back to the bot; claiming or closing the
#: ticket cancels it in the same transaction
HANDOFF_RELEASE = "handoff_release"


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


class HandoffQueue(ABC):
    """At most one open (waiting or claimed) ticket per conversation; closed ones stay as the
    queue's history until the conversation is forgotten. Every method may raise
    :class:`bot.errors.StorageError`."""

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
    async def open_handoffs(self, limit: int = 200) -> list[HandoffTicket]:
        """Waiting and claimed tickets, longest waiting first (the console's list)."""

    @abstractmethod
    async def handoff(self, ticket_id: int) -> HandoffTicket | None:
        """One ticket by id, whatever its status; None when there is none (or it was erased)."""

    @abstractmethod
    async def claim_handoff(self, key: str, agent: str, at: datetime) -> HandoffTicket | None:
        """Atomically give the waiting ticket of ``key`` to ``agent`` (and cancel the
        conversation's ``handoff_release`` timer). None when it is not waiting: another agent
        was faster, or it was closed."""

    @abstractmethod
    async def close_handoff(
        self,
        key: str,
        outcome: str,
        at: datetime,
        *,
        waiting_only: bool = False,
        keep_release: bool = False,
    ) -> HandoffTicket | None:
        """Close the conversation's open ticket with ``outcome`` (and cancel its
        ``handoff_release`` timer, unless ``keep_release``: the release timer closing it keeps
        itself until its turn is committed, so a death in between fires it again). None when
        it had none, or, with ``waiting_only``, when an agent holds it (the check and the close
        are one atomic step)."""

    @abstractmethod
    async def record_agent_message(self, key: str, text: str, at: datetime) -> None:
        """Append an agent's line (role ``agent``) to the conversation's transcript."""
