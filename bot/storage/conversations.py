"""The conversations port: the record a turn loads and saves, its transcript, and erasure.

The engine's turn is ``seen`` (was this message's turn committed already?) and ``load``, asked
together (``seen_and_load``), then ``commit_turn``, which records the message id, saves the
record, appends the turn's transcript lines, keeps its replies in the outbox
(:mod:`bot.storage.outbox`) and plans its timers in one transaction (on PostgreSQL in one
statement); all of it under the conversation's lock
(:class:`bot.storage.locks.ConversationLocks`). ``tests/storage/test_conversations.py`` is the
contract suite, on every adapter.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.conversation import Conversation, TranscriptEntry
from bot.storage.outbox import Outgoing

__all__ = ["ConversationStore"]


class ConversationStore(ABC):
    """Conversations and their turns. Every method may raise :class:`bot.errors.StorageError`."""

    @abstractmethod
    async def load(self, key: str) -> Conversation | None:
        """The saved conversation, or None for a new contact."""

    @abstractmethod
    async def seen(self, provider_id: str) -> bool:
        """Whether a message with this provider id was already committed by a turn."""

    async def seen_and_load(
        self, key: str, provider_id: str | None
    ) -> tuple[bool, Conversation | None]:
        """``seen(provider_id)`` (False for None) and ``load(key)`` together, as the start of
        a turn asks them (the adapters answer both in one statement: one round trip)."""
        seen = provider_id is not None and await self.seen(provider_id)
        return seen, await self.load(key)

    @abstractmethod
    async def commit_turn(
        self,
        conversation: Conversation,
        transcript: Sequence[TranscriptEntry],
        provider_id: str | None = None,
        outgoing: Outgoing | None = None,
        timers: Mapping[str, datetime | None] | None = None,
    ) -> bool:
        """In one transaction: record ``provider_id`` (if given), save ``conversation``, append
        ``transcript``, keep ``outgoing`` (the turn's replies) in the outbox, and plan the
        conversation's ``timers`` as :meth:`bot.storage.timers.TimerStore.set_timers` does.
        Returns False, writing nothing, when ``provider_id`` was already recorded.
        """

    @abstractmethod
    async def transcript(self, key: str, limit: int | None = None) -> list[TranscriptEntry]:
        """The conversation's transcript, oldest first (the last ``limit`` entries if given)."""

    @abstractmethod
    async def forget(self, key: str) -> None:
        """Delete everything stored about one conversation (LGPD erasure): record, transcript,
        timers, handoff tickets and unsent replies. Message ids are kept, no longer tied to the
        conversation."""
