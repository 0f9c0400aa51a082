"""Conversation locks as lease rows, on either database: a FIFO asyncio lock per key inside the
process first, then a row in ``locks`` that other processes respect.

A lease is taken by one statement and dropped by one (or by the statement that finishes the
inbox entry it was taken with: :class:`bot.storage.locks.Held`). A background task renews the
leases this process holds, so a long turn keeps its lease; a crashed process's leases are taken
over when they run out, at once when the holder was a process on this host that is gone
(``kill -9``: the restarted server does not wait for its predecessor's leases; see
:func:`bot.owners.orphans`). Leases are compared across processes, so they use the wall clock
(``time.time``), never a store's test clock.

The in-process lock is held from before the lease is taken until after it is dropped: so within
a process one holder at a time ever has a lease row of this process's owner, and a row of our
own found when taking is one an interrupted take or a failed drop left behind (the taker is its
rightful holder).

A lease row carries a counter (``turn``) that every take, every commit under the lease and
every drop moves on: a holder is its owner *and* the count its take (or its last commit) left,
and a turn's commit writes only while the row still shows both (:meth:`LeaseLocks.fence`; the
adapters check it in the committing statement). A holder stopped for longer than its lease
finds, when it goes on, the row another process took over (another owner, a later count): its
commit is refused (:class:`bot.storage.locks.LeaseLost`) instead of overwriting the newer turn.

What comes after a commit (sending its replies) is judged by time first: a take or a commit
under the lease sets its end ``lease`` seconds past the moment the statement was sent (the
database's clock, which cannot be behind ours by the time it runs), so until half a lease
after that moment (by this process's monotonic clock) the lease is surely still ours, and
:meth:`LeaseLocks.still_holds` answers without asking. Later (the process was stopped, or the
turn ran that long) it asks the database, in a statement that fences like a commit.

:class:`LeaseLocks` is the database-neutral part; each adapter says how its database takes,
drops and renews a lease (:mod:`bot.storage.sqlite.store`, :mod:`bot.storage.postgres.store`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from bot.errors import LockTimeout, StorageError
from bot.owners import new_owner, orphans, retire
from bot.storage._common import KeyedLocks, masked_key
from bot.storage.locks import Held

__all__ = ["LeaseLocks", "Took"]

#: what taking a lease says: the lease's count when it was taken (None: not taken), and the
#: holder found when it was not ("" when there is none)
Took = tuple[int | None, str]

log = logging.getLogger(__name__)


class LeaseLocks(ABC):
    """The conversation locks of one store; another process may take over a lease ``lease``
    seconds after its holder stopped renewing it."""

    def __init__(self, *, lease: float) -> None:
        self.lease = lease
        self.owner = new_owner()  # host:pid:token, so another process can tell it died
        self._keyed = KeyedLocks()
        self._held: dict[str, int] = {}  # keys whose lease is ours (renewed): their count
        # when the statement that last confirmed our lease of a key (took it, or moved its count
        # on) was sent, by time.monotonic: the lease lasts ``lease`` seconds past that at least
        self._confirmed: dict[str, float] = {}
        self._taken: set[Held] = set()  # locks taken with inbox entries, not yet given back
        self._renewer: asyncio.Task[None] | None = None
        self._dropping: set[asyncio.Task[None]] = set()

    # -- what each database says its own way ------------------------------------------------

    @abstractmethod
    async def take_lease(self, key: str, until: float, now: float, dead: str) -> Took:
        """Take the lease of ``key`` until ``until`` when it is free, ran out before ``now``,
        is ours, or is held by ``dead``, moving its count on: ``(count, "")``. Else
        ``(None, holder)`` ("" when there is none)."""

    @abstractmethod
    async def drop_lease(self, key: str) -> None:
        """Drop our lease of ``key`` (only if still ours)."""

    @abstractmethod
    async def renew_leases(self, keys: Sequence[str], until: float) -> None:
        """Extend our leases of ``keys`` to ``until``."""

    @abstractmethod
    def fence_statement(self, key: str, turn: int) -> tuple[str, Any]:
        """The statement (and its parameters) that moves the count of our lease of ``key`` on,
        and its end ``lease`` seconds on, only if the row still shows our owner and ``turn``;
        one row (the new count) when it did, none when the lease is no longer ours."""

    @abstractmethod
    async def confirm_lease(self, key: str, turn: int) -> int | None:
        """Move the count of our lease of ``key`` on (and its end ``lease`` seconds on, as a
        commit under it does) only if the row still shows our owner and ``turn``: the new
        count, or None when the lease is no longer ours."""

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start renewing held leases (once the database is open)."""
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew(), name="ozbot-lock-leases")

    async def stop(self) -> None:
        retire(self.owner)
        if self._renewer is not None:
            renewer, self._renewer = self._renewer, None
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        if self._dropping:
            await asyncio.gather(*self._dropping, return_exceptions=True)

    # -- fencing ----------------------------------------------------------------------------

    def fence(self, key: str) -> int | None:
        """The count of our lease of ``key`` when this store holds it (a turn's commit then
        writes only if the row still shows our owner and this count), else None."""
        return self._held.get(key)

    def fenced(self, key: str, turn: int, since: float) -> None:
        """A commit under our lease of ``key``, sent at ``since`` (time.monotonic), moved its
        count on to ``turn``."""
        if key in self._held:
            self._held[key] = turn
            self._confirmed[key] = since

    async def still_holds(self, key: str) -> bool:
        """Whether our lease of ``key`` is still ours (True for a key this store does not hold:
        nothing to judge by); see the module docstring. Raises StorageError."""
        turn = self._held.get(key)
        if turn is None:
            return True
        since = self._confirmed.get(key)
        if since is not None and time.monotonic() - since < self.lease / 2:
            return True
        asked = time.monotonic()
        moved = await self.confirm_lease(key, turn)
        if moved is None:
            return False
        self.fenced(key, moved, asked)
        return True

    def _forget(self, key: str) -> None:
        self._held.pop(key, None)
        self._confirmed.pop(key, None)

    # -- holding ----------------------------------------------------------------------------

    @asynccontextmanager
    async def hold(self, key: str, timeout: float) -> AsyncIterator[None]:  # noqa: ASYNC109
        # (``timeout`` bounds the wait only: the port's signature)
        deadline = time.monotonic() + timeout
        await self._keyed.acquire(key, timeout)
        try:
            turn, since = await self._take(key, deadline, timeout)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                # The statement may have taken the lease all the same: drop it, and only then
                # let the next task of this process in.
                self._drop_later(key)
            else:
                self._keyed.release(key)
            raise
        self._held[key] = turn
        self._confirmed[key] = since
        try:
            yield
        finally:
            self._forget(key)
            try:
                await self._drop_logged(key)
            except asyncio.CancelledError:
                self._drop_later(key)
                raise
            self._keyed.release(key)

    async def _take(self, key: str, deadline: float, waited: float) -> tuple[int, float]:
        """The lease's count, and when the statement that took it was sent (time.monotonic)."""
        backoff = 0.002
        dead = ""  # a holder found dead on the last try, whose lease may be taken at once
        while True:
            now, since = time.time(), time.monotonic()
            turn, taken = await self.take_lease(key, now + self.lease, now, dead)
            if turn is not None:
                return turn, since
            if taken and taken != dead and orphans([taken]):
                dead = taken  # try again at once, taking it over
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockTimeout(
                    f"conversation {masked_key(key)} stayed locked by another process for "
                    f"{waited:g}s"
                )
            await asyncio.sleep(min(backoff, remaining))
            backoff = min(backoff * 2, 0.05)

    # -- locks taken with an inbox entry ----------------------------------------------------

    async def reserve(self, key: str) -> bool:
        """Hold ``key`` in this process if nobody here holds or awaits it; the caller then runs
        the statement that tries to take the lease and says how it went (:meth:`taken`, or
        :meth:`not_taken`)."""
        return await self._keyed.try_acquire(key)

    def taken(self, held: Held, turn: int, since: float) -> Held:
        """The lease of ``held.key`` was taken by a statement sent at ``since``
        (time.monotonic), its count now ``turn``: hold it until :meth:`given_back`."""
        self._held[held.key] = turn
        self._confirmed[held.key] = since
        self._taken.add(held)
        return held

    def not_taken(self, key: str, *, cancelled: bool = False) -> None:
        """The statement did not take the lease, or failed: let the key go. ``cancelled``:
        the caller was cancelled while it ran, so it may have taken the lease all the same:
        drop it first."""
        if cancelled:
            self._drop_later(key)
        else:
            self._keyed.release(key)

    def holds(self, held: Held) -> bool:
        """Whether ``held`` is a lock this store took and has not given back."""
        return held in self._taken

    def given_back(self, held: Held) -> None:
        """The statement dropping ``held``'s lease has run (or failed: the lease is not renewed
        any more and runs out): the key is free in this process."""
        if held in self._taken:
            self._taken.discard(held)
            self._forget(held.key)
            self._keyed.release(held.key)

    def abandon(self, held: Held) -> None:
        """The statement dropping ``held``'s lease was cancelled mid-way: drop it again in a
        task, and let the key go in this process only after that."""
        if held in self._taken:
            self._taken.discard(held)
            self._forget(held.key)
            self._drop_later(held.key)

    async def release(self, held: Held) -> None:
        if held not in self._taken:
            return
        self._forget(held.key)
        try:
            await self._drop_logged(held.key)
        except asyncio.CancelledError:
            self._taken.discard(held)
            self._drop_later(held.key)
            raise
        self.given_back(held)

    # -- dropping ---------------------------------------------------------------------------

    async def _drop_logged(self, key: str) -> None:
        try:
            await self.drop_lease(key)
        except StorageError as exc:
            # Not renewed any more, so the lease runs out by itself; the turn's work is done.
            log.warning("could not release the lock of %s: %s", masked_key(key), exc)

    def _drop_later(self, key: str) -> None:
        """For a cancelled task: drop the lease in a task of its own, then let the key go in
        this process (so nobody here takes it before the drop has run)."""

        async def drop() -> None:
            try:
                await self._drop_logged(key)
            finally:
                self._keyed.release(key)

        task = asyncio.get_running_loop().create_task(drop(), name="ozbot-lock-drop")
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            if not self._held:
                continue
            keys = sorted(self._held)
            try:
                await self.renew_leases(keys, time.time() + self.lease)
            except StorageError as exc:
                log.warning("could not renew %d lock lease(s): %s", len(keys), exc)
