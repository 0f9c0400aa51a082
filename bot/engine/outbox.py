"""Replies durable with their turn: kept in the store's outbox by the turn's own commit, sent
after it, cleared once sent, sent by whoever recovers when the process died in between.

A turn builds an :class:`~bot.storage.outbox.Outgoing` (:meth:`Outbox.keep`), hands it to
``commit_turn`` (one transaction with the conversation, so a committed turn always has its
replies kept), and after the commit :meth:`Outbox.deliver` sends and clears it. Left behind
(a ``kill -9``, a crash, the machine gone) it is sent

* by the next turn of its conversation that finds its message already committed (the inbox
  keeps the message until its turn is over, so a recovered or re-delivered message comes back:
  :meth:`bot.engine.turns.CustomerTurns`), which calls :meth:`Outbox.flush` under the lock;
* by :meth:`Outbox.recover`, at start-up and every ``sweep_every`` seconds: rows whose holder
  was a process on this host that is gone at once, others once their lease ran out (timers'
  replies, and anything the first way missed).

Always under the conversation's lock, which a turn holds until its replies are sent: so a row
found there is never being sent by anyone else, and a conversation's replies go out in order.
A reply the messenger took just before the process died is sent again: the customer may see it
twice (README, "What a customer may see twice"). A process stopped after the commit for longer
than the lock's lease (``SIGSTOP``, a long GC pause) sends nothing when it goes on, once another
process took the conversation over: that one sends the row
(:meth:`bot.storage.locks.ConversationLocks.still_holds`, asked before each send;
docs/reliability.md). A messenger that refuses or does not answer
(:class:`bot.errors.ChannelError`) gets the row again from a sweep, after 10 s, 30 s, 90 s and
270 s; after ``attempts`` tries it is given up (logged) and cleared. A conversation's rows go in
order: one that failed holds the later ones back until it is sent or given up.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import Sequence

from bot.channels.base import Channel
from bot.conversation import ref
from bot.engine.dispatch import new_owner, orphans, retire
from bot.engine.shared import Shared
from bot.errors import LockTimeout, StorageError
from bot.messages import Reply
from bot.storage.outbox import Outgoing

__all__ = ["Outbox", "backoff"]

log = logging.getLogger(__name__)


def backoff(attempts: int) -> float:
    """Seconds before the next try of a row the messenger refused ``attempts + 1`` times."""
    return min(10.0 * 3.0**attempts, 600.0)


class Outbox:
    """The engine's side of the store's outbox. ``lease`` is how long a row is its process's
    before a sweep elsewhere may send it; ``sweep_every`` how often :meth:`recover` runs in the
    background once :meth:`start` ed; ``lock_wait`` how long a sweep waits for a busy
    conversation (it tries again at the next sweep); ``attempts`` how many times replies the
    messenger refuses are tried before they are given up."""

    def __init__(
        self,
        shared: Shared,
        *,
        lease: float = 30.0,
        sweep_every: float = 5.0,
        lock_wait: float = 1.0,
        batch: int = 100,
        attempts: int = 5,
    ) -> None:
        self._shared = shared
        self._attempts = attempts
        self._lease = lease
        self._sweep_every = sweep_every
        self._lock_wait = lock_wait
        self._batch = batch
        self.owner = new_owner()
        # a row's token: random once per Outbox, then counted (uuid4 per row read the OS's
        # random source every turn: a system call, and a UUID object, for a name)
        self._tokens = map(f"{uuid.uuid4().hex[:16]}{{:x}}".format, itertools.count())
        self._sweeper: asyncio.Task[None] | None = None
        # conversations with a row the messenger refused here, waiting for a sweep: their next
        # turn sends what waits first (flush), so the customer reads them in order
        self._held_back: set[str] = set()

    def keep(
        self, key: str, channel: str, contact: str, replies: Sequence[Reply]
    ) -> Outgoing | None:
        """The outbox row for ``replies`` (None for none), to commit with the turn."""
        if not replies:
            return None
        return Outgoing(
            token=next(self._tokens),
            key=key,
            channel=channel,
            contact=contact,
            replies=tuple(replies),
            owner=self.owner,
            lease=self._lease,
        )

    async def deliver(
        self,
        channel: Channel,
        outgoing: Outgoing | None,
        contact: str,
        replies: Sequence[Reply],
        name: str,
        *,
        clear: bool = True,
    ) -> str | None:
        """Send ``replies`` (those of ``outgoing`` when it was committed), then clear the row;
        with ``clear`` False, return its token for the caller to clear instead. None: nothing
        for the caller to clear (no row; or the messenger refused the replies, and the row
        waits for a later sweep)."""
        if outgoing is not None and not await self._still_ours(outgoing.key, name):
            return None
        if outgoing is not None and outgoing.key in self._held_back:
            # an earlier row of this conversation waits: it goes first, then this one (both
            # in the outbox), or this one waits behind it
            await self.flush(outgoing.key)
            return None
        sent = await self._shared.send(channel, contact, replies, name)
        if outgoing is None:
            return None
        if sent and not clear:
            return outgoing.token
        await self._settle(outgoing, sent, name)
        return None

    async def flush(self, key: str) -> int:
        """Send, oldest first, what earlier turns of the conversation left unsent; returns how
        many rows. The caller holds the conversation's lock. Raises :class:`StorageError`
        when they cannot be read."""
        shared, name = self._shared, ref(key)
        left = await shared.store.outbox_pending(key)
        tried = 0
        for row in left:
            if not await self._still_ours(key, name):
                break
            tried += 1
            channel = shared.channels.get(row.channel)
            if channel is None:
                log.warning(
                    "dropping replies for conversation %s: no %s channel", name, row.channel
                )
                await self._clear(row, name)
                continue
            sent = await shared.send(channel, row.contact, row.replies, name)
            await self._settle(row, sent, name)
            if not sent:
                break  # the later ones wait for it: the customer reads them in order
        else:
            self._held_back.discard(key)
        if tried:
            log.warning("sent %d replies left unsent for conversation %s", tried, name)
        return tried

    async def recover(self) -> int:
        """Send what dead holders left and what is overdue, conversation by conversation under
        its lock; returns how many rows. A conversation busy for longer than ``lock_wait`` is
        left to the next sweep. Raises :class:`StorageError`."""
        store = self._shared.store
        dead = orphans(await store.outbox_holders())
        total = 0
        for key in await store.outbox_overdue(dead, self._batch):
            try:
                async with store.lock(key, timeout=self._lock_wait):
                    total += await self.flush(key)
            except LockTimeout:
                continue
        return total

    async def start(self) -> int:
        """Recover now, then every ``sweep_every`` seconds in the background; returns how many
        rows were sent now (database trouble is logged and left to the next sweep)."""
        sent = await self._recover_logged()
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep_forever(), name="ozbot-outbox-sweep"
            )
        return sent

    async def stop(self) -> None:
        """Stop sweeping; rows of this process still unsent become the next process's."""
        if self._sweeper is not None:
            sweeper, self._sweeper = self._sweeper, None
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        retire(self.owner)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_every)
            await self._recover_logged()

    async def _recover_logged(self) -> int:
        try:
            return await self.recover()
        except StorageError as exc:
            log.warning("could not look for unsent replies (will retry): %s", exc)
            return 0

    async def _still_ours(self, key: str, name: str) -> bool:
        """Whether the conversation's lock is still this process's, so its replies are ours to
        send (False: it was stopped past its lease, and whoever took the conversation over sends
        them). When the store cannot tell, they are sent: the customer is waiting."""
        try:
            if await self._shared.store.still_holds(key):
                return True
        except StorageError as exc:
            log.warning("could not confirm the lock of conversation %s: %s", name, exc)
            return True
        log.warning(
            "conversation %s was taken over before its replies went out: the new holder sends them",
            name,
        )
        return False

    async def _settle(self, row: Outgoing, sent: bool, name: str) -> None:
        if sent:
            await self._clear(row, name)
            return
        self._held_back.add(row.key)
        if row.attempts + 1 >= self._attempts:
            log.error(
                "giving up replies to conversation %s: the messenger refused them %d times",
                name,
                row.attempts + 1,
            )
            await self._clear(row, name)
            return
        try:
            await self._shared.store.outbox_retry(row.token, backoff(row.attempts))
        except StorageError as exc:  # its lease runs out all the same: a sweep tries again
            log.warning("could not postpone replies of conversation %s: %s", name, exc)

    async def _clear(self, row: Outgoing, name: str) -> None:
        try:
            await self._shared.store.outbox_sent(row.token)
        except StorageError as exc:
            # the row stays: a sweep sends it again once its lease runs out (seen twice)
            log.warning("could not clear sent replies of conversation %s: %s", name, exc)
