"""What the lifespan builds and the routes use, kept on ``app.state.ozbot``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from itsdangerous import URLSafeTimedSerializer
from starlette.requests import Request

from bot.channels.base import Channel
from bot.channels.telegram import TelegramChannel
from bot.channels.webchat import WebchatChannel
from bot.channels.whatsapp import WhatsappChannel
from bot.i18n import Catalogs
from bot.messages import Inbound
from bot.settings import Settings
from bot.web.dispatch import Dispatcher
from bot.web.metrics import Metrics

__all__ = ["AppState", "Handler", "Runtime", "RuntimeFactory", "app_state"]


class Handler(Protocol):
    async def handle(self, inbound: Inbound) -> None: ...


class Runtime(Protocol):
    """The part of :class:`bot.compose.Runtime` the web layer uses."""

    @property
    def engine(self) -> Handler: ...

    async def aclose(self) -> None: ...


RuntimeFactory = Callable[[Settings, httpx.AsyncClient, Mapping[str, Channel]], Awaitable[Any]]


@dataclass
class AppState:
    settings: Settings
    http: httpx.AsyncClient
    metrics: Metrics
    catalogs: Catalogs
    dispatcher: Dispatcher
    runtime: Any  # a bot.compose.Runtime (or a test's stand-in)
    webchat: WebchatChannel
    telegram: TelegramChannel | None
    whatsapp: WhatsappChannel | None
    sessions: URLSafeTimedSerializer
    sse_seconds: float
    readiness: Callable[[], Awaitable[dict[str, str]]]
    stopping: asyncio.Event  # set when the server starts shutting down (see request_stop)
    loop: asyncio.AbstractEventLoop


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.ozbot
    return state
