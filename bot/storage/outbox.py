"""The outbox port: a turn's replies, kept with the turn until they are sent.

A turn's replies are written by :meth:`bot.storage.conversations.ConversationStore.commit_turn`
in the same transaction (on PostgreSQL the same statement) that saves the conversation, as one
:class:`Outgoing` row; the engine sends them after the commit and then removes the row
(:meth:`OutboxStore.outbox_sent`). A process that dies in between leaves the row behind, and
whoever recovers sends it: the engine, under the conversation's lock, before anything else
of that conversation (a re-delivered or recovered message of that turn, the next turn) and a
sweep for rows whose holder died or whose lease ran out. So a committed reply is sent at least
once; twice when the process died after the messenger took it and before the row went.

The row is held by an ``owner`` (the process that committed it) until ``claimed_until`` (epoch
seconds of the store's clock), like the inbox's entries; the lease only tells a sweep when a
row is overdue, the conversation's lock is what keeps two processes from sending it at once.
Sent rows are deleted (the transcript already has their text), so the table holds only what
is in flight; a row the messenger refused or did not answer stays, postponed
(:meth:`OutboxStore.outbox_retry`), for a sweep to try again. ``tests/storage/test_outbox.py``
is the contract suite, on every adapter.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import StorageError
from bot.messages import Button, Reply
from bot.storage._common import compact_json

__all__ = ["OutboxStore", "Outgoing", "replies_from_json", "replies_to_json"]


def replies_to_json(replies: Sequence[Reply]) -> str:
    """``replies`` as compact JSON, a list of
    ``{"text", "buttons": [[payload, label]], "ask_location"}``."""
    return compact_json(
        [
            {
                "text": r.text,
                "buttons": [[b.payload, b.label] for b in r.buttons],
                "ask_location": r.ask_location,
            }
            for r in replies
        ]
    )


def replies_from_json(value: str | Sequence[Any]) -> tuple[Reply, ...]:
    """The replies :func:`replies_to_json` wrote (PostgreSQL hands ``jsonb`` over parsed).
    Raises :class:`StorageError` for anything else."""
    try:
        data = json.loads(value) if isinstance(value, str) else value
        if not isinstance(data, list):
            raise TypeError("not a JSON array")
        return tuple(
            Reply(
                text=str(item["text"]),
                buttons=tuple(Button(str(p), str(label)) for p, label in item.get("buttons", ())),
                ask_location=bool(item.get("ask_location", False)),
            )
            for item in data
        )
    except (TypeError, ValueError, KeyError) as exc:
        raise StorageError(f"an outbox row is not readable replies: {exc}") from exc


@dataclass(frozen=True)
class Outgoing:
    """Replies to one contact on one channel, written with the turn that produced them.

    ``token`` names the row (the engine picks it, so committing needs no answer back from the
    database); ``owner`` and ``lease`` are who sends it and how long before a sweep may;
    ``attempts`` how many times the messenger refused it or did not answer."""

    token: str
    key: str
    channel: str
    contact: str
    replies: tuple[Reply, ...]
    owner: str
    lease: float
    attempts: int = 0


class OutboxStore(ABC):
    """Replies committed and not yet sent. Every method may raise
    :class:`bot.errors.StorageError`."""

    @abstractmethod
    async def outbox_pending(self, key: str) -> list[Outgoing]:
        """The conversation's unsent rows, oldest first (``lease`` is 0 in what is read back).
        Call it under the conversation's lock: then none of them is being sent."""

    @abstractmethod
    async def outbox_sent(self, token: str) -> None:
        """Remove the row once its replies were handed to the messenger (or given up)."""

    @abstractmethod
    async def outbox_retry(self, token: str, after: float) -> None:
        """Count one more failed attempt at the row and leave it to a sweep ``after`` seconds
        from now (its lease runs out then)."""

    @abstractmethod
    async def outbox_overdue(self, orphans: Sequence[str], limit: int) -> list[str]:
        """The keys of conversations with a row whose lease ran out or whose owner is among
        ``orphans`` (holders known to be dead), oldest row first, at most ``limit``."""

    @abstractmethod
    async def outbox_holders(self) -> list[str]:
        """The owners holding rows under a live lease (a process checks which are dead)."""

    @abstractmethod
    async def outbox_backlog(self) -> int:
        """How many rows wait to be sent, in all processes (for metrics and tests)."""
