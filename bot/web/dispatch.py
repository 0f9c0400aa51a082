"""Background processing of accepted messages, so a webhook answers at once.

Messengers re-deliver when a webhook is slow (Twilio after 15 s, Telegram after 60 s), so the
routes only verify, parse and :meth:`Dispatcher.submit`; the turn runs here. Guarantees:

* messages of one conversation run one after another, in the order they were submitted (one
  worker per conversation drains its queue; the engine's store lock then orders turns across
  processes);
* at most ``concurrency`` turns run at once across conversations;
* a provider id submitted again while remembered (the last ``seen_window`` ids) is dropped
  before any work (the engine's store check covers restarts and other processes);
* :meth:`close` stops accepting and waits for queued and running turns (graceful shutdown).

Accepted messages live in memory until processed: a crash loses the queue (the messenger was
already told 200). The store's de-duplication makes re-sending them safe, but nothing re-sends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot.messages import Inbound
from bot.web.metrics import Metrics
from bot.web.privacy import ref

__all__ = ["Closing", "Dispatcher"]

log = logging.getLogger(__name__)


class Closing(RuntimeError):
    """The server is shutting down and accepts no new messages (the route answers 503, so the
    messenger re-delivers to the next process)."""


class Dispatcher:
    """Runs ``handle(inbound)`` for submitted messages; see the module docstring."""

    def __init__(
        self,
        handle: Callable[[Inbound], Awaitable[None]],
        *,
        concurrency: int = 32,
        metrics: Metrics | None = None,
        seen_window: int = 10_000,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._handle = handle
        self._slots = asyncio.Semaphore(concurrency)
        self._metrics = metrics or Metrics()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_window = seen_window
        self._queues: dict[str, deque[tuple[Inbound, float]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False

    def submit(self, inbound: Inbound) -> bool:
        """Queue ``inbound`` for its conversation. Returns False for a provider id already
        submitted. Raises :class:`Closing` during shutdown."""
        if self._closing:
            raise Closing("shutting down")
        pid = inbound.provider_id
        if pid is not None:
            if pid in self._seen:
                return False
            self._seen[pid] = None
            if len(self._seen) > self._seen_window:
                self._seen.popitem(last=False)
        self._metrics.queued.inc()
        job = (inbound, time.monotonic())
        queue = self._queues.get(inbound.key)
        if queue is not None:
            queue.append(job)  # its worker is running and will get to it, in order
        else:
            self._queues[inbound.key] = deque([job])
            self._start(self._work(inbound.key))
        return True

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
                inbound, arrived = queue[0]  # stays queued while running: later ones append
                self._metrics.queued.dec()
                async with self._slots:
                    self._metrics.in_flight.inc()
                    outcome = "ok"
                    try:
                        await self._handle(inbound)
                    except Exception:
                        outcome = "error"
                        log.exception("turn failed for conversation %s", ref(key))
                    finally:
                        self._metrics.in_flight.dec()
                        self._metrics.turns.labels(inbound.channel, outcome).inc()
                        self._metrics.turn_seconds.labels(inbound.channel).observe(
                            time.monotonic() - arrived
                        )
                queue.popleft()
        finally:
            # no await between the loop's last check and here: a submit cannot slip in between
            del self._queues[key]

    @property
    def pending(self) -> int:
        """Messages accepted and not finished (queued or running)."""
        return sum(len(q) for q in self._queues.values())

    async def join(self) -> None:
        """Wait until every submitted message and side job is done."""
        await self._idle.wait()

    async def close(self, grace: float = 30.0) -> None:
        """Stop accepting; let queued and running turns finish for up to ``grace`` seconds,
        then cancel what is left (logged with how many)."""
        self._closing = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            left = list(self._tasks)
            log.error("shutdown: cancelling %d unfinished turns after %.0fs", len(left), grace)
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
