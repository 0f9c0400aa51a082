"""The locks port: one conversation's turns at a time, across tasks and processes.

The engine takes the lock *before* it loads the conversation (aiogram issue #1317 is the bug this
avoids) and holds it until the turn is committed and its replies are sent. Both adapters keep a
lease row per held conversation in ``locks``, renewed while held, taken over when its holder
died (at once when that was a process on this host, else when the lease runs out).

A lock may also be taken with a message's inbox entry (``InboxStore.inbox_accept(...,
lock=True)``), by the statement that stores it: the entry's turn then runs under that
:class:`Held` lock without taking it, starts from the conversation the same statement read
(when it could: :attr:`Held.loaded`), and gives it back with the entry
(``InboxStore.inbox_done(..., held=...)``), by the statement that clears it. On PostgreSQL that
is two round trips fewer per turn (taking, releasing) and often a third (loading).
``tests/storage/test_locks.py`` is the contract suite, on every adapter.

A held lock *fences* the turn's commit: ``commit_turn`` of a conversation whose lock this store
holds writes only while the lease is still this holder's, judged in the committing statement
itself (by the lease's owner and its counter, which every take, commit and drop moves on). A
process stopped for longer than its lease (a GC pause, ``SIGSTOP``, a slow disk) whose
conversation another process took over meanwhile gets :class:`LeaseLost` instead, nothing
written; its turn must send nothing, and run its message again under a new lock (it then finds
it answered, when the new holder ran it). ``tests/storage/test_fencing.py`` is its suite.
"""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from bot.conversation import Conversation
from bot.errors import StorageError
from bot.storage._common import dump_context

__all__ = ["ConversationLocks", "Held", "LeaseLost"]


class LeaseLost(StorageError):
    """A turn's commit was refused, nothing written: the conversation's lease is no longer
    this holder's (it ran out while the process was stopped, and another process took the
    conversation over). Send nothing from the turn; run its message again under a new lock."""


@dataclass(eq=False)
class Held:
    """A conversation's lock taken with its message's inbox entry, held (and renewed) by the
    store until :meth:`ConversationLocks.release` or ``inbox_done(..., held=...)`` gives it
    back; whoever has it may hand it to another task. ``loaded``: the conversation as the
    taking statement found it (None: no conversation yet), when the statement could tell that
    nothing changed it since; else ``stale`` is True and the turn loads it itself."""

    key: str
    loaded: Conversation | None = None
    stale: bool = True
    #: what the last turn under the lock committed, when that turn says nothing else changed
    #: the conversation after (no after-commit work): :meth:`hand_on` starts the next from it
    committed: Conversation | None = None

    def hand_on(self) -> None:
        """Ready for the conversation's next turn under this lock, without giving it back
        (``InboxStore.inbox_pass``): ``loaded`` is what the last turn ``committed`` as a load
        would read it back (its context through JSON), or, when it said nothing, ``stale``.
        Nobody else wrote the conversation meanwhile: the lock was held throughout (and a
        holder stopped past its lease has its next commit refused: :class:`LeaseLost`)."""
        saved, self.committed = self.committed, None
        if saved is None:
            self.loaded, self.stale = None, True
            return
        context = json.loads(dump_context(saved.context))
        self.loaded, self.stale = dataclasses.replace(saved, context=context), False


class ConversationLocks(ABC):
    """Exclusive holds on conversation keys."""

    @abstractmethod
    def lock(self, key: str, timeout: float = 30.0) -> AbstractAsyncContextManager[None]:
        """Hold the conversation ``key`` exclusively, across tasks *and* processes sharing the
        database, until the context exits. Waiters are served in arrival order within a process.
        Raises :class:`bot.errors.LockTimeout` after ``timeout`` seconds, and
        :class:`bot.errors.StorageError` when the database fails."""

    @abstractmethod
    async def still_holds(self, key: str) -> bool:
        """Whether the lock of ``key`` this store holds is still its own: False once its lease
        ran out and another process took the conversation over (this process was stopped for
        longer than the lease). Asks the database only when the lease was last confirmed (taken,
        or a commit under it) more than half a lease ago, so a turn asks it before sending its
        committed replies at no cost: had it lost the lock, the replies are the new holder's to
        send. True for a key this store does not hold. Raises StorageError."""

    @abstractmethod
    async def release(self, held: Held) -> None:
        """Give back a lock taken with an inbox entry (when its entry is not being finished:
        a turn cancelled, a shutdown). Idempotent; never raises: a lease that could not be
        dropped is no longer renewed, and runs out."""
