"""The console's own per-application state (kept on ``app.state.console``): the login
throttle and the session length. (What agents did reaches the other consoles' streams through
the store's news: :mod:`bot.web.console.api`.)"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.requests import Request

from bot.web.console.auth import LoginThrottle
from bot.web.state import app_state

__all__ = ["ConsoleState", "console_state"]

log = logging.getLogger(__name__)


@dataclass
class ConsoleState:
    """``throttle`` counts logins in the store; ``session_hours``: how long a login lasts (a
    working shift and a half)."""

    throttle: LoginThrottle
    session_hours: float = 12.0


def console_state(request: Request) -> ConsoleState:
    state = getattr(request.app.state, "console", None)
    if state is None:  # first use in this application
        store = app_state(request).runtime.store
        state = request.app.state.console = ConsoleState(throttle=LoginThrottle(store))
    assert isinstance(state, ConsoleState)
    return state
