"""What the lifespan builds and the routes use, kept on ``app.state.ozbot``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from itsdangerous import URLSafeTimedSerializer
from starlette.requests import Request

from bot.channels.telegram import TelegramChannel
from bot.channels.webchat import WebchatChannel
from bot.channels.whatsapp import WhatsappChannel
from bot.compose import Runtime
from bot.engine.dispatch import Dispatcher
from bot.i18n import Catalogs
from bot.metrics import Metrics
from bot.settings import Settings

__all__ = ["AppState", "app_state"]


@dataclass
class AppState:
    """``runtime`` is the composed bot (:func:`bot.compose.compose`); the routes' shortcuts to
    its parts follow it."""

    runtime: Runtime
    sessions: URLSafeTimedSerializer
    sse_seconds: float
    readiness: Callable[[], Awaitable[dict[str, str]]]
    stopping: asyncio.Event  # set when the server starts shutting down (see request_stop)
    loop: asyncio.AbstractEventLoop

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def metrics(self) -> Metrics:
        return self.runtime.metrics

    @property
    def catalogs(self) -> Catalogs:
        return self.runtime.catalogs

    @property
    def dispatcher(self) -> Dispatcher:
        return self.runtime.dispatcher

    @property
    def webchat(self) -> WebchatChannel:
        if self.runtime.webchat is None:
            raise RuntimeError("the web routes need the web chat channel: compose its own")
        return self.runtime.webchat

    @property
    def telegram(self) -> TelegramChannel | None:
        return self.runtime.telegram

    @property
    def whatsapp(self) -> WhatsappChannel | None:
        return self.runtime.whatsapp


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.ozbot
    return state
