"""The Starlette application behind ``ozbot serve``. Its lifespan enters the composition root
(:func:`bot.compose.compose`: the shared HTTP client, the channels, the store, the engine, the
timers, the dispatcher; all closed in reverse order at shutdown, after running turns have
finished) and keeps what the routes use on ``app.state.ozbot``. Before it serves, the
dispatcher runs the messages a process that died had accepted (kept in the store's inbox).

Channels are enabled by their settings: Telegram with ``TELEGRAM_TOKEN``; WhatsApp with
``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and ``TWILIO_FROM``; the web chat always.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette

from bot.compose import Runtime, compose
from bot.logsafe import quiet_noisy_loggers
from bot.settings import Settings
from bot.web import console, health, webchat, webhooks
from bot.web.state import AppState

__all__ = ["Composer", "Prepare", "create_app", "request_stop"]

log = logging.getLogger(__name__)

#: an async context manager run first in the lifespan and left last: it may start something
#: (the embedded OZmap sandbox) and return the settings to use with it
Prepare = Callable[[Settings], AbstractAsyncContextManager[Settings]]
#: what the lifespan enters to build the bot: :func:`bot.compose.compose`, or the same with some
#: of its keyword arguments fixed (``functools.partial``)
Composer = Callable[[Settings], AbstractAsyncContextManager[Runtime]]

READINESS_TIMEOUT = 3.0
#: how long OZmap's answer to the readiness probe is kept: a load balancer probes every few
#: seconds, each process, and OZmap's API is not ours to load with that
OZMAP_PROBE_TTL = 30.0


class _Kept:
    """The result of an async probe, kept for ``ttl`` seconds; callers arriving while it runs
    wait for that same run instead of starting another."""

    def __init__(self, probe: Callable[[], Awaitable[tuple[str, str]]], ttl: float) -> None:
        self._probe = probe
        self._ttl = ttl
        self._lock = asyncio.Lock()
        self._value: tuple[str, str] | None = None
        self._until = 0.0

    async def __call__(self) -> tuple[str, str]:
        loop = asyncio.get_running_loop()
        async with self._lock:
            if self._value is None or loop.time() >= self._until:
                self._value = await self._probe()
                self._until = loop.time() + self._ttl
            return self._value


def _readiness(
    runtime: Runtime, ozmap_ttl: float = OZMAP_PROBE_TTL
) -> Callable[[], Awaitable[dict[str, str]]]:
    async def check(name: str, probe: Callable[[], Awaitable[object]]) -> tuple[str, str]:
        try:
            async with asyncio.timeout(READINESS_TIMEOUT):
                result = await probe()
        except TimeoutError:
            return name, "timeout"
        except Exception as exc:  # any failure means not ready; the class name says which
            return name, type(exc).__name__
        if result is False:
            return name, "refused: check OZMAP_TOKEN"
        return name, "ok"

    ozmap = _Kept(lambda: check("ozmap", runtime.ozmap.authenticated), ozmap_ttl)

    async def readiness() -> dict[str, str]:
        results = await asyncio.gather(
            check("store", lambda: runtime.store.cache_get("readyz", "probe")), ozmap()
        )
        return dict(results)

    return readiness


def create_app(
    settings: Settings,
    *,
    composer: Composer = compose,
    prepare: Prepare | None = None,
    sse_seconds: float = 20.0,
    ozmap_probe_ttl: float = OZMAP_PROBE_TTL,
) -> Starlette:
    """The application; nothing is built until its lifespan starts.

    ``composer`` builds the bot (tests fix some of :func:`~bot.compose.compose`'s arguments:
    the messenger fakes mounted on the shared client, their own flows); ``prepare`` runs
    before it (``ozbot serve --sandbox``); ``/readyz`` asks OZmap again only after
    ``ozmap_probe_ttl`` seconds. The lifespan raises :class:`bot.errors.ConfigError`
    for bad settings.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        quiet_noisy_loggers()
        async with AsyncExitStack() as stack:
            s = settings
            if prepare is not None:
                s = await stack.enter_async_context(prepare(s))
            runtime = await stack.enter_async_context(composer(s))
            secret = s.session_secret
            if not secret:
                # one key for every process on this database (a visitor's next request may go
                # to another), kept across restarts
                log.info("OZBOT_SESSION_SECRET is not set: web-chat cookies use the database's")
                secret = await runtime.store.shared_secret(
                    "webchat-session", secrets.token_urlsafe(32)
                )
            app.state.ozbot = AppState(
                runtime=runtime,
                sessions=webchat.session_serializer(secret),
                sse_seconds=sse_seconds,
                readiness=_readiness(runtime, ozmap_probe_ttl),
                stopping=asyncio.Event(),
                loop=asyncio.get_running_loop(),
            )
            log.info("serving channels: %s", ", ".join(sorted(runtime.channels)))
            yield
            log.info("shutting down: finishing %d accepted messages", runtime.dispatcher.pending)

    return Starlette(
        routes=[*webhooks.routes, *webchat.routes, *health.routes, console.mount()],
        lifespan=lifespan,
    )


def request_stop(app: Starlette) -> None:
    """Tell long-lived responses (web-chat streams) that the server is shutting down, so they
    end now rather than hold the shutdown up. Safe from a signal handler or another thread;
    does nothing before the lifespan has started."""
    state: AppState | None = getattr(app.state, "ozbot", None)
    if state is not None:
        state.loop.call_soon_threadsafe(state.stopping.set)
