"""In-process news about the agents' queue, for the agent console to subscribe to.

The engine publishes after each committed change: a conversation queued for a person, a
customer's message while in the queue, a ticket closed, an agent's message sent. Subscribers
are plain callbacks run in the publishing task; they must not block (put the event on an
``asyncio.Queue`` and return). Processes do not see each other's events: a console serving
several ``ozbot serve`` processes also polls :meth:`bot.storage.base.Store.waiting_handoffs`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = ["HandoffEvent", "HandoffEvents"]

log = logging.getLogger(__name__)

EventKind = Literal["queued", "customer_message", "closed", "agent_message", "erased"]


@dataclass(frozen=True)
class HandoffEvent:
    """``key`` is the conversation; ``text`` the message for ``customer_message`` and
    ``agent_message``, the outcome for ``closed``, the reason for ``queued``."""

    kind: EventKind
    key: str
    at: datetime
    text: str | None = None


class HandoffEvents:
    """A list of subscribers. ``publish`` never raises: a failing subscriber is logged and the
    others still hear the event."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[HandoffEvent], None]] = []

    def subscribe(self, callback: Callable[[HandoffEvent], None]) -> Callable[[], None]:
        """Call ``callback`` with every event from now on; returns the unsubscribe function."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, event: HandoffEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # one broken subscriber must not cost the customer's turn
                log.exception("a handoff event subscriber failed on %s", event.kind)
