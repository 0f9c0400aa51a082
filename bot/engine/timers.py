"""Timers that survive restarts: a nudge after a silence mid-flow, the way back to the menu after
a longer one, and an unclaimed handoff given back to the bot.

They live in the store (one per conversation and kind), so a restart loses none. A
:class:`TimerPolicy` says when each fires; a :class:`TimerRunner` claims due timers atomically
(several processes may run one) and hands each to the function it was given, the engine's
:meth:`~bot.engine.Engine.fire_timer`, which runs it as a turn under the conversation's lock
(:mod:`bot.engine.timer_turns`), so a timer and a message of the same customer never
interleave. A customer's message moves or cancels the conversation's timers inside its own turn;
a timer claimed just before that message is found stale under the lock and dropped.

The composition root (:mod:`bot.compose`) starts the runner after the engine is built and stops
it before the store closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.conversation import utcnow
from bot.engine.hours import BusinessHours
from bot.errors import StorageError
from bot.storage.base import HANDOFF_RELEASE, Timer, TimerStore

__all__ = ["EXPIRE", "HANDOFF_RELEASE", "NUDGE", "Fire", "TimerPolicy", "TimerRunner"]

#: runs one claimed timer; returns whether it did anything (see ``Engine.fire_timer``)
Fire = Callable[[Timer], Awaitable[bool]]

log = logging.getLogger(__name__)

NUDGE = "nudge"
EXPIRE = "expire"


@dataclass(frozen=True)
class TimerPolicy:
    """How long silences last before each timer fires (None turns that timer off).

    ``handoff_timeout`` counts from the moment the team is open (``hours``): a request made at
    night is given back to the bot only if nobody took it that long after opening.
    ``template`` is the messenger template id used for a timer's message when the channel
    refuses free text (WhatsApp's 24-hour window); without it nothing is sent then."""

    nudge_after: timedelta | None = timedelta(minutes=10)
    expire_after: timedelta | None = timedelta(hours=2)
    handoff_timeout: timedelta | None = timedelta(minutes=30)
    hours: BusinessHours | None = None
    template: str | None = None

    def after_turn(self, *, resting: bool, now: datetime) -> dict[str, datetime | None]:
        """The nudge and expiry after a turn: from now when the conversation waits for the
        customer mid-flow, cancelled when it rests (menu, a finished flow, a person's care)."""
        if resting:
            return {NUDGE: None, EXPIRE: None}
        return {
            NUDGE: now + self.nudge_after if self.nudge_after else None,
            EXPIRE: now + self.expire_after if self.expire_after else None,
        }

    def release_at(self, now: datetime) -> datetime | None:
        """When a handoff queued ``now`` goes back to the bot if nobody claims it."""
        if self.handoff_timeout is None:
            return None
        opens = self.hours.next_opening(now) if self.hours is not None else now
        return (opens or now) + self.handoff_timeout


class TimerRunner:
    """Claims due timers every ``interval`` seconds (``run``), ``batch`` at a time, each for
    ``lease`` seconds (a runner that dies mid-way leaves them to another after that), and runs
    ``fire`` on each. ``clock`` gives the current time (tests pass one they move by hand)."""

    def __init__(
        self,
        fire: Fire,
        store: TimerStore,
        *,
        clock: Callable[[], datetime] = utcnow,
        interval: float = 5.0,
        batch: int = 20,
        lease: float = 120.0,
    ) -> None:
        self._fire_one = fire
        self._store = store
        self._clock = clock
        self._interval = interval
        self._batch = batch
        self._lease = lease
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Claim and fire what is due now, until nothing is; returns how many fired. Raises
        :class:`StorageError` when the timers cannot be claimed."""
        fired = 0
        while True:
            due = await self._store.claim_timers(
                self._clock(), limit=self._batch, lease=self._lease
            )
            if not due:
                return fired
            # different conversations in parallel; the engine orders each one's turns
            results = await asyncio.gather(*(self._fire(timer) for timer in due))
            fired += sum(results)
            if len(due) < self._batch:
                return fired

    async def _fire(self, timer: Timer) -> bool:
        try:
            return await self._fire_one(timer)
        except Exception:  # one timer's failure must not stop the others; its lease will expire
            log.exception("timer %s %d failed", timer.kind, timer.id)
            return False

    async def run(self) -> None:
        """Fire timers until cancelled. Database trouble is logged and retried."""
        while True:
            try:
                await self.run_once()
            except StorageError:
                log.warning(
                    "could not claim timers; retrying in %gs", self._interval, exc_info=True
                )
            await asyncio.sleep(self._interval)

    @property
    def running(self) -> bool:
        """Whether the background task runs (between :meth:`start` and :meth:`stop`)."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Run in a background task of the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="ozbot-timers")

    async def stop(self) -> None:
        """Stop the background task, letting nothing half-done: a timer being fired is
        cancelled with it and, still claimed, fires again after its lease."""
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
