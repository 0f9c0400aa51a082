"""The periodic pruning job: every ``OZBOT_PRUNE_EVERY`` seconds each ``ozbot serve`` process
asks the store to delete what nobody will read again (:class:`bot.storage.pruning.PruningStore`):
message ids older than ``OZBOT_PRUNE_MESSAGE_DAYS`` days, expired cache entries, ended agent
sessions, throttle windows that are over. Deletes are idempotent and batched, so processes
pruning at the same time only find less to delete; the first run waits a random part of the
interval, so processes started together do not all prune at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.conversation import utcnow
from bot.errors import StorageError
from bot.storage.pruning import PruningStore

__all__ = ["Pruner"]

log = logging.getLogger(__name__)


class Pruner:
    """Prunes ``store`` every ``every`` seconds, keeping message ids for ``keep_messages``."""

    def __init__(
        self,
        store: PruningStore,
        *,
        every: float,
        keep_messages: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._every = every
        self._keep = keep_messages
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> dict[str, int]:
        """Prune now; how many rows went, by kind. Raises :class:`StorageError`."""
        now = self._clock()
        pruned = await self._store.prune(messages_before=now - self._keep, now=now)
        if any(pruned.values()):
            log.info("pruned old rows: %s", ", ".join(f"{n} {kind}" for kind, n in pruned.items()))
        return pruned

    async def run(self) -> None:
        """Prune until cancelled; database trouble is logged and tried again next time."""
        await asyncio.sleep(random.uniform(0, self._every))  # noqa: S311 (spreading, not secrecy)
        while True:
            try:
                await self.run_once()
            except StorageError:
                log.warning("could not prune old rows; trying again later", exc_info=True)
            await asyncio.sleep(self._every)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Run in a background task of the running loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name="ozbot-pruning")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
