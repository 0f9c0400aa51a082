"""The inbox port: accepted messages kept in the database until their turn has run.

A webhook answers 200 only once its message is in the inbox (the messenger never sends it
again), and the message leaves the inbox when its turn is over. A process that dies in between
leaves it there, under a lease that runs out; another process (or the same one restarted)
claims it then and runs it. A part of :class:`bot.storage.base.Store` only the dispatcher uses;
``tests/storage/test_inbox.py`` is its contract suite, on every adapter.

Leases are held by an ``owner`` (one per dispatcher, i.e. per process) until the store's clock
passes ``claimed_until`` (epoch seconds); the owner renews all of its leases at once while it
holds them. Running an entry twice is possible (a lease that ran out under a turn still
running) and harmless: the engine records each provider id with its turn and skips one it has
seen, which is why every entry has a provider id (the web chat makes one up).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from bot.errors import StorageError
from bot.messages import Inbound, Location
from bot.storage._common import compact_json
from bot.storage.locks import Held

__all__ = ["Accepted", "InboxEntry", "InboxStore", "inbound_from_json", "inbound_to_json"]

_INBOUND_NAMES = tuple(f.name for f in fields(Inbound))
_LOCATION_NAMES = tuple(f.name for f in fields(Location))
_INBOUND_FIELDS = frozenset(_INBOUND_NAMES)
_LOCATION_FIELDS = frozenset(_LOCATION_NAMES)


def inbound_to_json(inbound: Inbound) -> str:
    """``inbound`` as compact JSON (its location nested as an object, or null). Field by
    field (``dataclasses.asdict`` deep-copies every value: most of the cost of a webhook's
    insert): the fields are plain strings, and the location's numbers and strings."""
    data: dict[str, Any] = {name: getattr(inbound, name) for name in _INBOUND_NAMES}
    point = inbound.location
    if point is not None:
        data["location"] = {name: getattr(point, name) for name in _LOCATION_NAMES}
    return compact_json(data)


def inbound_from_json(value: str | Mapping[str, Any]) -> Inbound:
    """The message :func:`inbound_to_json` wrote (PostgreSQL hands ``jsonb`` over already
    parsed). Fields this version does not know (written by a newer one) are dropped. Raises
    :class:`StorageError` for anything that is not such a message."""
    try:
        data = json.loads(value) if isinstance(value, str) else dict(value)
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        known = {name: item for name, item in data.items() if name in _INBOUND_FIELDS}
        point = known.get("location")
        if point is not None:
            if not isinstance(point, dict):
                raise TypeError("location is not an object")
            known["location"] = Location(
                **{name: item for name, item in point.items() if name in _LOCATION_FIELDS}
            )
        return Inbound(**known)
    except (TypeError, ValueError) as exc:  # a missing channel/contact is a TypeError
        raise StorageError(f"an inbox entry is not a readable message: {exc}") from exc


@dataclass(frozen=True)
class InboxEntry:
    """A message claimed from the inbox; ``id`` orders entries by arrival."""

    id: int
    inbound: Inbound


@dataclass(frozen=True)
class Accepted:
    """An entry just stored: its ``id`` (ids grow in the order entries are stored, which is
    the order a conversation's turns run in), and whether an earlier entry of its
    conversation was in the inbox then (``behind``: its turn must wait for theirs); and the
    conversation's lock when it was asked for and taken with the entry (``held``: never for an
    entry that is behind)."""

    id: int
    behind: bool
    held: Held | None = None


class InboxStore(ABC):
    """Accepted messages until their turn is done. Every method may raise
    :class:`bot.errors.StorageError`."""

    @abstractmethod
    async def inbox_accept(
        self, inbound: Inbound, owner: str, lease: float, *, lock: bool = False
    ) -> Accepted | None:
        """Store ``inbound``, claimed by ``owner`` for ``lease`` seconds, in one statement.
        None (storing nothing) when its provider id is already in the inbox or was already
        committed by a turn (a re-delivered webhook).

        ``lock``: in the same statement, take the conversation's lock for the entry's turn
        when nobody holds it (in this process or another) and no earlier entry of the
        conversation waits, and read the conversation (see :class:`bot.storage.locks.Held`).
        Whoever gets a held lock must give it back: ``inbox_done(..., held=...)`` or
        :meth:`bot.storage.locks.ConversationLocks.release`."""

    async def inbox_put(self, inbound: Inbound, owner: str, lease: float) -> int | None:
        """:meth:`inbox_accept`, the entry's id only."""
        accepted = await self.inbox_accept(inbound, owner, lease)
        return None if accepted is None else accepted.id

    @abstractmethod
    async def inbox_first(self, key: str) -> int | None:
        """The id of the conversation's earliest entry in the inbox (claimed or not), or None.
        A turn runs when its entry is that one."""

    @abstractmethod
    async def inbox_ready(
        self, key: str, entry_id: int, provider_id: str | None
    ) -> tuple[int | None, Held | None]:
        """:meth:`inbox_first`, and when that is ``entry_id`` (or none: its turn may run), in
        the same statement, the conversation's lock for its turn when nobody holds it (here
        or elsewhere), with the conversation read, as ``inbox_accept(..., lock=True)`` takes
        it; ``loaded`` is trusted (``stale`` False) only when the message (``provider_id``) is
        not committed yet: taken over from a stopped process, its turn may have run. Whoever
        gets the lock gives it back, as with inbox_accept's."""

    @abstractmethod
    async def inbox_claim(
        self, owner: str, lease: float, limit: int, *, orphans: Sequence[str] = ()
    ) -> list[InboxEntry]:
        """Atomically claim, for ``owner`` and ``lease`` seconds, up to ``limit`` entries no
        live lease holds (their holder died, or gave them back), in arrival order. The leases
        of ``orphans`` (holders known to be dead) count as run out. An entry is left alone
        while an earlier one of its conversation is under a live lease, so a conversation's
        messages are never claimed ahead of its earlier ones. Safe with several processes: an
        entry goes to one of them."""

    @abstractmethod
    async def inbox_holders(self) -> list[str]:
        """The owners holding live leases (a new process checks which of them are dead)."""

    @abstractmethod
    async def inbox_renew(self, owner: str, lease: float) -> int:
        """Extend every lease ``owner`` holds to ``lease`` seconds from now; returns how many."""

    @abstractmethod
    async def inbox_done(
        self, entry_id: int, owner: str, sent: str | None = None, *, held: Held | None = None
    ) -> None:
        """Remove the entry once its turn has run, if ``owner`` still holds it (had its lease
        run out and another process claimed it, that one removes it); with ``sent``, also
        the outbox row of that token, whose replies the turn sent (what
        :meth:`bot.storage.outbox.OutboxStore.outbox_sent` does), and with ``held``, the lock
        taken with the entry is given back, all in the same statement. The held lock is given
        back even when this raises (its lease then runs out by itself).

        The one write of a turn not waited for on disk: PostgreSQL commits it without waiting
        for its WAL to be flushed, so a crash of the database server (not of this process)
        right after may bring the entry back; its turn is then found committed and sends its
        replies again."""

    @abstractmethod
    async def inbox_pass(
        self, entry_id: int, owner: str, sent: str | None, held: Held, after: int
    ) -> bool:
        """Finish the entry as :meth:`inbox_done` does (``sent``'s outbox row with it), but keep
        ``held`` (the lock taken with it, or passed to it) for the conversation's next entry in
        this process, ``after``, whose turn runs under it next: no release and no take in
        between (and, on PostgreSQL, no look at the inbox: this statement tells). True when the
        lock is kept: the entry is gone and no earlier entry than ``after`` is left in the inbox.
        False when the lock is given back instead: it was no longer this store's, or an earlier
        entry (another process's, or one whose clear failed) is still there and goes first.
        Raises :class:`bot.errors.StorageError`, the lock still held (the caller gives it back:
        :meth:`bot.storage.locks.ConversationLocks.release`)."""

    @abstractmethod
    async def inbox_release(self, owner: str) -> int:
        """Give back every lease ``owner`` holds (a process stopping with turns unrun), so
        another process may claim those entries at once; returns how many."""

    @abstractmethod
    async def inbox_pending(self) -> int:
        """How many entries the inbox holds, claimed or not (for metrics and tests)."""
