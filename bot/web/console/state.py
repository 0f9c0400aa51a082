"""The console's own per-application state (kept on ``app.state.console``): the login
throttle, the session length, and news of what agents did, for the other consoles' streams."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from bot.web.console.auth import LoginThrottle
from bot.web.state import app_state

__all__ = ["ConsoleState", "console_state"]

log = logging.getLogger(__name__)

Listener = Callable[[dict[str, Any]], None]


@dataclass
class ConsoleState:
    """``throttle`` counts logins in the store; ``session_hours``: how long a login lasts (a
    working shift and a half)."""

    throttle: LoginThrottle
    session_hours: float = 12.0
    _listeners: list[Listener] = field(default_factory=list)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Hear every change agents make from now on (must not block); returns the
        unsubscribe function."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def publish(self, change: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:  # one broken stream must not fail the agent's action
                log.exception("a console listener failed")


def console_state(request: Request) -> ConsoleState:
    state = getattr(request.app.state, "console", None)
    if state is None:  # first use in this application
        store = app_state(request).runtime.store
        state = request.app.state.console = ConsoleState(throttle=LoginThrottle(store))
    assert isinstance(state, ConsoleState)
    return state
