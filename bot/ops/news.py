"""The agents' live queue across processes: the engine's handoff events, published on the
store's news (topic ``console``) as ``{"kind", "ticket"}``, so the console stream of every
process hears what a turn in any process changed. Only ticket ids travel: the stream's page
fetches what changed (``ticket`` null: the ticket is closed, refresh everything)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.engine.events import HandoffEvent, HandoffEvents
from bot.errors import StorageError
from bot.storage.base import Store

__all__ = ["TOPIC", "QueueNews"]

log = logging.getLogger(__name__)

TOPIC = "console"


class QueueNews:
    def __init__(self, store: Store, events: HandoffEvents) -> None:
        self._store = store
        self._events = events
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: Callable[[], None] = lambda: None

    def start(self) -> None:
        self._unsubscribe = self._events.subscribe(self._heard)

    def _heard(self, event: HandoffEvent) -> None:
        task = asyncio.get_running_loop().create_task(self._publish(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, event: HandoffEvent) -> None:
        try:
            ticket = await self._store.open_handoff(event.key)
            change = {"kind": event.kind, "ticket": ticket.id if ticket else None}
            await self._store.publish(TOPIC, change)
        except StorageError:
            # the consoles miss this one live; their pages refetch when they reconnect
            log.warning("could not tell the consoles of a change in the queue")

    async def stop(self) -> None:
        self._unsubscribe()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
