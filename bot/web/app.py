"""The Starlette application behind ``ozbot serve``. Its lifespan is the composition root of the
web process: one shared ``httpx.AsyncClient`` (:func:`bot.httpclient.shared_client`), the
channels, the runtime (store, OZmap client, geocoder, engine:
:func:`bot.compose.build_runtime`), its timer runner, the dispatcher; all closed in reverse
order at shutdown, after running turns have finished. Before it serves, the dispatcher runs the
messages a process that died had accepted (kept in the store's inbox).

Channels are enabled by their settings: Telegram with ``TELEGRAM_TOKEN``; WhatsApp with
``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and ``TWILIO_FROM``; the web chat always.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

from bot.channels.base import Channel
from bot.channels.telegram import TelegramChannel, TelegramEvent, make_bot, poll_updates
from bot.channels.webchat import WebchatChannel
from bot.channels.whatsapp import WhatsappChannel, make_twilio_client
from bot.errors import StorageError
from bot.httpclient import mount_for, shared_client, shared_transport
from bot.i18n import Catalogs
from bot.logsafe import quiet_noisy_loggers
from bot.settings import Settings
from bot.storage.inbox import InboxStore
from bot.web import console, health, webchat, webhooks
from bot.web.dispatch import Dispatcher
from bot.web.metrics import Metrics
from bot.web.state import AppState, RuntimeFactory

__all__ = ["Prepare", "create_app", "request_stop"]

log = logging.getLogger(__name__)

#: an async context manager run first in the lifespan and left last: it may start something
#: (the embedded OZmap sandbox) and return the settings to use with it
Prepare = Callable[[Settings], AbstractAsyncContextManager[Settings]]

READINESS_TIMEOUT = 3.0


async def _default_runtime(settings: Settings, http: httpx.AsyncClient, channels: Any) -> Any:
    from bot.compose import build_runtime  # the engine's composition, imported when serving

    return await build_runtime(settings, http, channels)


def _whatsapp(settings: Settings, http: httpx.AsyncClient, catalogs: Catalogs) -> Any:
    needed = {
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "TWILIO_FROM": settings.twilio_from,
    }
    missing = [name for name, value in needed.items() if not value]
    if len(missing) == len(needed):
        return None
    if missing:
        log.warning("WhatsApp is off: set %s as well", ", ".join(missing))
        return None
    t = catalogs.translator(settings.language)
    client = make_twilio_client(
        settings.twilio_account_sid, settings.twilio_auth_token, http, settings.twilio_api_url
    )
    return WhatsappChannel(
        client,
        sender=settings.twilio_from,
        location_hint=t("channel.whatsapp.location_hint"),
        choose_intro=t("common.choose_number"),
        quick_reply_sids=settings.twilio_quick_reply_sids,
        status_callback=settings.public_base_url.rstrip("/") + "/webhooks/twilio/status",
    )


def _readiness(runtime: Any) -> Callable[[], Any]:
    async def check(name: str, probe: Callable[[], Any]) -> tuple[str, str]:
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

    async def readiness() -> dict[str, str]:
        results = await asyncio.gather(
            check("store", lambda: runtime.store.cache_get("readyz", "probe")),
            check("ozmap", lambda: runtime.ozmap.authenticated()),
        )
        return dict(results)

    return readiness


def create_app(
    settings: Settings,
    *,
    runtime_factory: RuntimeFactory | None = None,
    http_mounts: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    prepare: Prepare | None = None,
    telegram_polling: bool | None = None,
    sse_seconds: float = 20.0,
    shutdown_grace: float = 30.0,
    inbox_lease: float = 30.0,
    inbox_sweep: float = 5.0,
) -> Starlette:
    """The application; nothing is built until its lifespan starts.

    ``runtime_factory`` defaults to :func:`bot.compose.build_runtime`; ``http_mounts`` route
    some URL prefixes of the shared client elsewhere (tests mount the messenger fakes on
    ``https://api.telegram.org`` and ``https://api.twilio.com``); ``telegram_polling`` None
    follows ``TELEGRAM_MODE``. ``shutdown_grace`` bounds how long running turns may take to
    finish at shutdown; ``inbox_lease`` and ``inbox_sweep`` are the :class:`Dispatcher`'s
    ``lease`` and ``sweep_every``. The lifespan raises :class:`bot.errors.ConfigError` for
    bad settings.
    """
    factory: RuntimeFactory = runtime_factory or _default_runtime
    polling = settings.telegram_mode == "polling" if telegram_polling is None else telegram_polling

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        quiet_noisy_loggers()
        async with AsyncExitStack() as stack:
            s = settings
            if prepare is not None:
                s = await stack.enter_async_context(prepare(s))
            metrics = Metrics()
            transport = shared_transport()
            http = shared_client(
                # OZmap's requests are timed and counted on the wire (bot/web/metrics.py), on
                # the shared transport like every other upstream
                metrics.meter_ozmap(
                    {**mount_for(s.ozmap_url, transport), **(http_mounts or {})}, s.ozmap_url
                ),
                transport=transport,
            )
            stack.push_async_callback(http.aclose)
            catalogs = Catalogs.load()
            t = catalogs.translator(s.language)

            web = WebchatChannel()
            channels: dict[str, Channel] = {web.name: web}
            telegram = None
            if s.telegram_token:
                bot = make_bot(s.telegram_token, http, s.telegram_api_url)
                telegram = TelegramChannel(bot, location_label=t("channel.share_location"))
                channels[telegram.name] = telegram
            whatsapp = _whatsapp(s, http, catalogs)
            if whatsapp is not None:
                channels[whatsapp.name] = whatsapp

            runtime = await factory(s, http, channels)
            stack.push_async_callback(runtime.aclose)
            if whatsapp is not None:
                whatsapp.use_store(runtime.store)

            # every process runs timers: claims are atomic with a lease, so they never double up
            timers = runtime.timer_runner()
            timers.start()
            stack.push_async_callback(timers.stop)

            inbox = runtime.store
            if not isinstance(inbox, InboxStore):
                raise TypeError(f"the runtime's store {inbox!r} does not implement InboxStore")
            dispatcher = Dispatcher(
                runtime.engine.handle,
                inbox,
                concurrency=s.webhook_concurrency,
                metrics=metrics,
                lease=inbox_lease,
                sweep_every=inbox_sweep,
            )
            stack.push_async_callback(dispatcher.close, shutdown_grace)
            # what a process that died left accepted runs before anything new is accepted
            await dispatcher.start()

            secret = s.session_secret
            if not secret:
                log.warning(
                    "OZBOT_SESSION_SECRET is not set: web-chat sessions end when the server "
                    "restarts; set it to a long random string"
                )
                secret = secrets.token_urlsafe(32)
            app.state.ozbot = AppState(
                settings=s,
                http=http,
                metrics=metrics,
                catalogs=catalogs,
                dispatcher=dispatcher,
                runtime=runtime,
                webchat=web,
                telegram=telegram,
                whatsapp=whatsapp,
                sessions=webchat.session_serializer(secret),
                sse_seconds=sse_seconds,
                readiness=_readiness(runtime),
                stopping=asyncio.Event(),
                loop=asyncio.get_running_loop(),
            )
            if polling:
                if telegram is None:
                    log.warning("Telegram polling asked for, but TELEGRAM_TOKEN is not set")
                else:
                    await stack.enter_async_context(_polling(telegram, dispatcher))
            log.info("serving channels: %s", ", ".join(sorted(channels)))
            yield
            log.info("shutting down: finishing %d accepted messages", dispatcher.pending)

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


@asynccontextmanager
async def _polling(telegram: TelegramChannel, dispatcher: Dispatcher) -> AsyncIterator[None]:
    """Long-poll Telegram while the context is open (local development, no public URL)."""
    await telegram.delete_webhook()  # getUpdates is refused while a webhook is set

    async def on_event(event: TelegramEvent) -> None:
        if event.callback_query_id is not None:
            dispatcher.spawn(telegram.answer_callback(event.callback_query_id), "callback")
        # getUpdates has moved past it already: keep trying until the inbox takes it
        while True:
            try:
                await dispatcher.submit(event.inbound)
                return
            except StorageError as exc:
                log.warning("could not keep a polled update (retrying in 1s): %s", exc)
                await asyncio.sleep(1.0)

    stop = asyncio.Event()
    task = asyncio.create_task(poll_updates(telegram.bot, on_event, stop=stop))
    log.info("Telegram: long polling (no webhook)")
    try:
        yield
    finally:
        stop.set()
        task.cancel()  # a long poll may be waiting for up to its timeout
        with contextlib.suppress(asyncio.CancelledError):
            await task
