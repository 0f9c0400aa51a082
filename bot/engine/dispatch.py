"""Accepted messages: kept in the store's inbox, then run through the engine in the background.

Whatever brings a message in hands it to :meth:`Dispatcher.submit`: a webhook route (after
verifying and parsing it), Telegram long polling, the web chat. Messengers re-deliver when a
webhook is slow (Twilio after 15 s, Telegram after 60 s) and never again once it answered 200,
so ``submit`` stores the message in the inbox (:mod:`bot.storage.inbox`, one insert) *before*
the route answers; the turn runs here afterwards. Guarantees:

* an accepted message is answered even when the process dies before its turn: it stays in the
  inbox under this dispatcher's lease (renewed every ``sweep_every`` seconds while it waits),
  and the process that claims it next runs it: at start-up (:meth:`start`) and every
  ``sweep_every`` seconds, entries whose holder is dead are claimed, a holder on this host at
  once (its process is gone), one elsewhere when its lease has run out. A dispatcher that
  stops with turns unrun gives its leases back, so the next process takes them at once;
* a message the inbox cannot keep is refused: ``submit`` raises
  :class:`bot.errors.StorageError` and the route answers 503, so the messenger re-sends it;
* messages of one conversation run one after another in the order they were accepted, across
  processes, recovered ones included. The order is the inbox's: entry ids grow in the order
  entries are stored, and a messenger sends a message only after the previous one's 200, so a
  later message has a larger id whichever process took it. A turn runs only when its entry is
  its conversation's earliest in the inbox: one worker per conversation drains its queue in
  entry order, and an entry accepted while an earlier one of its conversation was in the inbox
  (``behind``) waits, polling, until that one is done, wherever it runs (held by a process that
  died, it is claimed once its lease runs out, and run first);
* at most ``concurrency`` turns run at once across conversations;
* a provider id already in the inbox, or committed by a turn, is dropped (``submit`` returns
  False); the last ``seen_window`` ids are dropped before reaching the store;
* :meth:`close` stops accepting and waits for queued and running turns (graceful shutdown).

Given ``handle_held``, the dispatcher also takes a message's conversation lock with its entry,
in the statement that stores it, when nothing holds it and no earlier entry waits (the usual
case: a customer's messages come a second or more apart), and gives it back with the entry in
the statement that clears it: the turn (``handle_held``) neither takes nor releases it, and
starts from the conversation that statement read. On PostgreSQL a turn is then three round
trips: store (and lock, and load), commit, clear (and unlock). A turn cancelled or a message
accepted while stopping gives its lock back on its own.

When the conversation's next message is already queued here behind it (a customer writing
faster than the bot answers, or a loaded server), the lock is not given back: the statement
that clears the entry keeps it and says whether anything earlier than the next entry is left
(``InboxStore.inbox_pass``), and the next turn runs at once under it, from the conversation
the last one committed (:meth:`bot.storage.locks.Held.hand_on`; loaded again when that turn
had work after its commit): a release, a look at the inbox, a take and a load fewer (four
round trips on PostgreSQL). When something earlier is left (another process's entry) the lock
goes back and the next turn waits for its turn as usual: its looks at the inbox take the lock
in the same statement once it is its turn (``InboxStore.inbox_ready``), so a conversation whose
messages alternate between processes runs each turn under a lock taken with a look, in the
usual three round trips and its looks.

An entry leaves the inbox after its turn. A process dying between the turn's commit and that
leaves it to be run again, and the engine skips it (it records the provider id with the turn),
so nobody is answered twice.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from bot.conversation import ref
from bot.errors import StorageError
from bot.messages import Inbound
from bot.metrics import Metrics
from bot.owners import new_owner, orphans, retire, this_host
from bot.storage.base import ConversationLocks
from bot.storage.inbox import InboxStore
from bot.storage.locks import Held

__all__ = ["Closing", "Dispatcher", "new_owner", "orphans", "retire", "this_host"]

log = logging.getLogger(__name__)


class Closing(RuntimeError):
    """The server is shutting down and accepts no new messages (the route answers 503, so the
    messenger re-delivers to the next process)."""


#: how long a turn waiting for an earlier entry of its conversation sleeps between looks
_WAIT_FIRST, _WAIT_MOST = 0.005, 0.25


@dataclass(frozen=True, slots=True)
class _Job:
    entry: int  # the inbox entry
    inbound: Inbound
    arrived: float  # monotonic
    behind: bool  # an earlier entry of its conversation was in the inbox: wait for it
    held: Held | None = None  # its conversation's lock, taken with the entry


def _entry(job: _Job) -> int:
    return job.entry


class Dispatcher:
    """Runs ``handle(inbound)`` for messages kept in ``inbox``; see the module docstring.
    ``handle`` may return the token of an outbox row its turn left after sending (see
    :meth:`bot.engine.Engine.handle_leaving_sent`): it is removed with the inbox entry.

    ``lease`` is how long an entry stays this dispatcher's without a renewal; ``sweep_every``
    how often leases are renewed and dead holders' entries looked for (at most a third of the
    lease, so a renewal is never missed). ``handle_held`` (with an ``inbox`` that is also the
    conversations' locks): run a message whose lock was taken with its entry (see the module
    docstring); None: every message goes to ``handle``, which takes the lock itself."""

    def __init__(
        self,
        handle: Callable[[Inbound], Awaitable[str | None]],
        inbox: InboxStore,
        *,
        handle_held: Callable[[Inbound, Held], Awaitable[str | None]] | None = None,
        concurrency: int = 32,
        metrics: Metrics | None = None,
        seen_window: int = 10_000,
        lease: float = 30.0,
        sweep_every: float = 5.0,
        batch: int = 100,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if not 0 < sweep_every <= lease / 3:
            raise ValueError("sweep_every must be positive and at most a third of lease")
        self._handle = handle
        self._handle_held = handle_held
        self._inbox = inbox
        self._slots = asyncio.Semaphore(concurrency)
        self._metrics = metrics or Metrics()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_window = seen_window
        self._lease = lease
        self._sweep_every = sweep_every
        self._batch = batch
        self.owner = new_owner()
        self._queues: dict[str, deque[_Job]] = {}
        self._running: set[str] = set()  # conversations whose first queued job has started
        self._uncleared: set[int] = set()  # entries done here whose removal failed
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Queue what dead processes left in the inbox (before any new message, so a
        conversation's recovered messages come first), then renew leases and look for more
        every ``sweep_every`` seconds in the background. Returns how many were recovered now;
        database trouble is logged and left to the next sweep."""
        recovered = await self._sweep_logged()
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep_forever(), name="ozbot-inbox-sweep"
            )
        return recovered

    async def recover(self) -> int:
        """Claim and queue the entries dead holders left, until none is left; returns how many.
        Raises :class:`StorageError`."""
        dead = orphans(await self._inbox.inbox_holders())
        total = 0
        while not self._closing:
            entries = await self._inbox.inbox_claim(
                self.owner, self._lease, self._batch, orphans=dead
            )
            for entry in entries:
                if entry.inbound.provider_id is not None:
                    self._remember(entry.inbound.provider_id)
                self._enqueue(_Job(entry.id, entry.inbound, time.monotonic(), behind=True))
            total += len(entries)
            if len(entries) < self._batch:
                break
        if total:
            log.warning("re-dispatching %d accepted messages a stopped process left", total)
        return total

    async def _sweep_logged(self) -> int:
        try:
            return await self.recover()
        except StorageError as exc:
            log.warning("could not look for messages left in the inbox (will retry): %s", exc)
            return 0

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_every)
            if self._queues:
                try:
                    await self._inbox.inbox_renew(self.owner, self._lease)
                except StorageError as exc:
                    log.warning("could not renew the inbox leases (will retry): %s", exc)
            await self._sweep_logged()

    async def submit(self, inbound: Inbound) -> bool:
        """Keep ``inbound`` in the inbox, then queue it for its conversation. Returns False for
        a provider id already accepted (or answered). Raises :class:`Closing` during shutdown
        and :class:`StorageError` when the inbox cannot keep it (it is then not accepted)."""
        if self._closing:
            raise Closing("shutting down")
        pid = inbound.provider_id
        if pid is not None and pid in self._seen:
            return False
        accepted = await self._inbox.inbox_accept(
            inbound, self.owner, self._lease, lock=self._handle_held is not None
        )
        if pid is not None:
            self._remember(pid)
        if accepted is None:
            return False
        if self._closing:
            # Stopped while the insert ran: it is kept, and the next process runs it.
            if accepted.held is not None:
                await self._locks().release(accepted.held)
            return True
        self._enqueue(_Job(accepted.id, inbound, time.monotonic(), accepted.behind, accepted.held))
        return True

    def _locks(self) -> ConversationLocks:
        # only an inbox that takes locks hands out a Held, and such an inbox is a Store
        assert isinstance(self._inbox, ConversationLocks)
        return self._inbox

    def _remember(self, pid: str) -> None:
        self._seen[pid] = None
        if len(self._seen) > self._seen_window:
            self._seen.popitem(last=False)

    def _enqueue(self, job: _Job) -> None:
        self._metrics.queued.inc()
        key = job.inbound.key
        queue = self._queues.get(key)
        if queue is not None:
            # its worker will get to it, in entry order (a recovered entry may be older than
            # what waits); a job that started stays first
            lowest = 1 if key in self._running else 0
            queue.insert(bisect.bisect(queue, job.entry, lo=lowest, key=_entry), job)
        else:
            self._queues[job.inbound.key] = deque([job])
            self._start(self._work(job.inbound.key))

    def spawn(self, job: Coroutine[Any, Any, None], what: str) -> None:
        """Run a side job (acknowledge a button tap, record a status) in the background; it is
        awaited at shutdown like a turn. Its failure is logged as ``what``, never raised.
        Raises :class:`Closing` during shutdown."""
        if self._closing:
            job.close()
            raise Closing("shutting down")
        self._start(self._guard(job, what))

    async def _guard(self, job: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await job
        except Exception:
            log.exception("background job failed: %s", what)

    def _start(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._idle.set()

    async def _work(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                job = queue[0]  # stays queued while running: later ones go after it
                if job.behind:
                    if not await self._its_turn(key, job):
                        continue  # an earlier entry of ours came in meanwhile: it goes first
                    job = queue[0]  # (with the lock, when its last look took it)
                self._running.add(key)
                self._metrics.queued.dec()
                async with self._slots:
                    self._metrics.in_flight.inc()
                    outcome = "ok"
                    sent = None
                    try:
                        if job.held is not None and self._handle_held is not None:
                            sent = await self._handle_held(job.inbound, job.held)
                        else:
                            sent = await self._handle(job.inbound)
                    except Exception:
                        # done all the same: run again, it would most likely fail again
                        outcome = "error"
                        log.exception("turn failed for conversation %s", ref(key))
                    finally:
                        self._metrics.in_flight.dec()
                        self._metrics.turns.labels(job.inbound.channel, outcome).inc()
                        self._metrics.turn_seconds.labels(job.inbound.channel).observe(
                            time.monotonic() - job.arrived
                        )
                if not await self._pass(job, sent, queue):
                    await self._finish(job, sent)
                queue.popleft()
                self._running.discard(key)
        finally:
            # no await between the loop's last check and here: a submit cannot slip in between
            del self._queues[key]
            self._running.discard(key)
            # cancelled (a shutdown past its grace): the locks its jobs hold go back now
            for left in queue:
                if left.held is not None:
                    with contextlib.suppress(Exception):
                        await self._locks().release(left.held)

    async def _its_turn(self, key: str, job: _Job) -> bool:
        """Wait until ``job``'s entry is its conversation's earliest in the inbox (True), or
        until another job is first in its queue (False: that one runs first)."""
        queue, pause = self._queues[key], _WAIT_FIRST
        while queue[0] is job:
            try:
                first, held = await self._look(key, job)
            except StorageError as exc:
                log.warning("could not read the inbox of conversation %s: %s", ref(key), exc)
            else:
                if held is not None:
                    queue[0] = replace(job, behind=False, held=held)
                    return True
                if first is None or first >= job.entry:
                    return True
                if first in self._uncleared:  # ours, done: clear it and look again
                    await self._clear(first, key)
                    if first not in self._uncleared:
                        continue
            await asyncio.sleep(pause)
            pause = min(pause * 2, _WAIT_MOST)
        return False

    async def _pass(self, job: _Job, sent: str | None, queue: deque[_Job]) -> bool:
        """Finish ``job`` handing its lock over to the conversation's next job queued here,
        which then runs at once under it (see the module docstring). False (nothing done):
        there is nothing to hand over, or nobody to hand it to; ``_finish`` it instead."""
        held = job.held
        if held is None or len(queue) < 2 or self._closing or self._handle_held is None:
            return False
        after = queue[1]
        if after.held is not None:
            return False
        try:
            kept = await self._inbox.inbox_pass(job.entry, self.owner, sent, held, after.entry)
        except StorageError as exc:
            # as in _clear: the entry stays ours, and the next turn waits for it
            self._uncleared.add(job.entry)
            log.warning(
                "could not clear a finished message of conversation %s from the inbox: %s",
                ref(job.inbound.key),
                exc,
            )
            await self._locks().release(held)
            return True
        self._uncleared.discard(job.entry)
        if not kept:
            return True  # given back: the next one waits for its turn as usual
        if len(queue) < 2 or queue[1] is not after:
            # a recovered, older entry came in meanwhile: it goes first, without the lock
            await self._locks().release(held)
            return True
        held.hand_on()  # from what the last turn committed, or loaded again
        queue[1] = replace(after, behind=False, held=held)
        return True

    async def _look(self, key: str, job: _Job) -> tuple[int | None, Held | None]:
        """The conversation's earliest entry in the inbox, and, when that is ``job``'s and the
        lock was free, the lock taken for it in the same statement (with the conversation
        read, as ``submit`` takes it)."""
        if self._handle_held is None or job.held is not None:
            return await self._inbox.inbox_first(key), None
        return await self._inbox.inbox_ready(key, job.entry, job.inbound.provider_id)

    async def _finish(self, job: _Job, sent: str | None = None) -> None:
        await self._clear(job.entry, job.inbound.key, sent, job.held)

    async def _clear(
        self, entry: int, key: str, sent: str | None = None, held: Held | None = None
    ) -> None:
        """Remove the entry; with ``sent``, the outbox row the turn left (its replies went out),
        and with ``held``, the lock taken with the entry, in the same statement."""
        try:
            if held is None:
                await self._inbox.inbox_done(entry, self.owner, sent)
            else:
                await self._inbox.inbox_done(entry, self.owner, sent, held=held)
        except StorageError as exc:
            # Still held (and renewed) by us: the conversation's next turn tries again (it
            # waits for it); after we stop, another process runs it again and the engine
            # skips it as already answered. An outbox row left with it is sent again by a
            # sweep once its lease runs out (the customer sees it twice).
            self._uncleared.add(entry)
            log.warning(
                "could not clear a finished message of conversation %s from the inbox: %s",
                ref(key),
                exc,
            )
        else:
            self._uncleared.discard(entry)

    @property
    def pending(self) -> int:
        """Messages accepted and not finished (queued or running) in this process."""
        return sum(len(q) for q in self._queues.values())

    async def join(self) -> None:
        """Wait until every submitted message and side job is done."""
        await self._idle.wait()

    async def close(self, grace: float = 30.0) -> None:
        """Stop accepting; let queued and running turns finish for up to ``grace`` seconds,
        then cancel what is left (logged with how many) and give its inbox entries back for
        the next process."""
        self._closing = True
        if self._sweeper is not None:
            sweeper, self._sweeper = self._sweeper, None
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            left = list(self._tasks)
            log.error("shutdown: cancelling %d unfinished turns after %.0fs", len(left), grace)
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
        try:
            released = await self._inbox.inbox_release(self.owner)
        except StorageError as exc:
            log.warning("could not give back unfinished inbox entries: %s", exc)
        else:
            if released:
                log.warning("shutdown: %d accepted messages left for the next process", released)
        finally:
            retire(self.owner)
