"""The composition root: settings in, a running bot out, as one async context manager.

::

    async with compose(settings) as runtime:
        await runtime.dispatcher.submit(inbound)  # kept in the inbox, answered in the background
        await runtime.engine.handle(inbound)      # or one turn, now

It builds, in this order, and closes in the reverse one: the metrics, the shared HTTP client
(:mod:`bot.httpclient`, OZmap's requests metered), the catalogs, the channels the settings
enable (the web chat always; Telegram with ``TELEGRAM_TOKEN``; WhatsApp with
``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and ``TWILIO_FROM``), the store (opened and
migrated), the OZmap client, the geocoder and the CEP lookup, the services, the engine, the
timer runner and the dispatcher (both started; the dispatcher first runs what a process that
died had accepted), and Telegram long polling when ``TELEGRAM_MODE=polling``. Leaving lets
accepted turns finish (for up to ``shutdown_grace`` seconds) before anything closes.

Every process that runs the bot enters it: the web server's lifespan (:mod:`bot.web.app`),
``ozbot demo``, ``ozbot telegram poll``, the benchmarks and the tests. The keyword arguments are
the seams for those that are not the web server (their own channels or store, other flows, a
clock moved by hand); nothing is built at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.channels.base import Channel
from bot.channels.telegram import TelegramChannel, TelegramEvent, make_bot, poll_updates
from bot.channels.webchat import WebchatChannel
from bot.channels.whatsapp import WhatsappChannel, make_twilio_client
from bot.conversation import utcnow
from bot.engine import Engine, FlowSpec, Intent, Services
from bot.engine.dispatch import Dispatcher
from bot.engine.hours import BusinessHours
from bot.engine.timers import TimerPolicy, TimerRunner
from bot.errors import StorageError
from bot.geo.base import CepLookup, Geocoder
from bot.geo.factory import make_cep_lookup, make_geocoder
from bot.geo.gazetteer import GazetteerGeocoder
from bot.httpclient import mount_for, shared_client, shared_transport
from bot.i18n import Catalogs
from bot.logsafe import use_log_key
from bot.messages import clean_inbound
from bot.metrics import Metrics
from bot.nlu.base import Understander
from bot.ops.news import QueueNews
from bot.ops.pruning import Pruner
from bot.ozmap.client import OzmapClient
from bot.ozmap.outage import OutageReader
from bot.ozmap.sales import SalesDesk
from bot.plans import PlanAnswers, PlanBook, load_plan_book
from bot.settings import Settings
from bot.storage import make_store
from bot.storage.base import Store
from flows import FLOWS, INTENTS

__all__ = ["Runtime", "compose", "timer_policy"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """Everything a running bot holds. ``channels`` maps each channel's name to its adapter;
    ``webchat``, ``telegram`` and ``whatsapp`` are those of them the web routes serve (None when
    not enabled, or when the caller gave its own channels)."""

    settings: Settings
    http: httpx.AsyncClient
    catalogs: Catalogs
    channels: Mapping[str, Channel]
    webchat: WebchatChannel | None
    telegram: TelegramChannel | None
    whatsapp: WhatsappChannel | None
    store: Store
    ozmap: OzmapClient
    services: Services
    engine: Engine
    timers: TimerRunner
    dispatcher: Dispatcher
    metrics: Metrics
    pruner: Pruner


@asynccontextmanager
async def compose(
    settings: Settings,
    *,
    channels: Mapping[str, Channel] | None = None,
    http_mounts: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    store: Store | None = None,
    flows: Sequence[FlowSpec] | None = None,
    intents: Sequence[Intent] | None = None,
    geocoder: Geocoder | None = None,
    ceps: CepLookup | None = None,
    catalogs: Catalogs | None = None,
    ozmap_options: Mapping[str, Any] | None = None,
    sales_options: Mapping[str, Any] | None = None,
    clock: Callable[[], datetime] = utcnow,
    background: bool = True,
    shutdown_grace: float = 30.0,
    inbox_lease: float = 30.0,
    inbox_sweep: float = 5.0,
) -> AsyncIterator[Runtime]:
    """Build and start the bot for ``settings``; see the module docstring.

    ``channels`` replaces the ones the settings enable; ``http_mounts`` route some URL prefixes
    of the shared client elsewhere (tests mount the messenger fakes on
    ``https://api.telegram.org``); ``store`` is an opened store to use instead of
    ``DATABASE_URL``'s (its caller closes it); ``flows`` and ``intents`` replace the product's
    (``flows.FLOWS``, ``flows.INTENTS``); ``geocoder``, ``ceps`` and ``catalogs`` replace the
    ones the settings name (tests load the catalogs strict); ``ozmap_options`` go to
    :meth:`OzmapClient.from_settings`, ``sales_options`` to :class:`~bot.ozmap.sales.SalesDesk`;
    ``clock`` is the time of the engine, the services and the timers. ``background`` False
    starts neither the timer runner nor the dispatcher's and the outbox's sweeps: the caller
    drives them (``runtime.timers.run_once()``, ``runtime.dispatcher.recover()``,
    ``runtime.engine.outbox.recover()``). ``shutdown_grace`` bounds how long accepted turns may
    take to finish when leaving; ``inbox_lease`` and ``inbox_sweep`` are the dispatcher's
    ``lease`` and ``sweep_every``, and the outbox's.

    Raises :class:`bot.errors.ConfigError` for a setting that cannot work (naming it), and
    :class:`bot.errors.StorageError` when the database cannot be opened; nothing is left open
    when it raises.
    """
    async with AsyncExitStack() as stack:
        metrics = Metrics()
        transport = shared_transport()
        http = shared_client(
            # OZmap's requests are timed and counted on the wire (bot/metrics.py), on the
            # shared transport like every other upstream
            metrics.meter_ozmap(
                {**mount_for(settings.ozmap_url, transport), **(http_mounts or {})},
                settings.ozmap_url,
            ),
            transport=transport,
        )
        stack.push_async_callback(http.aclose)
        catalogs = catalogs or Catalogs.load()
        webchat, telegram, whatsapp = None, None, None
        if channels is None:
            webchat, telegram, whatsapp = _channels(settings, http, catalogs)
            enabled: list[Channel | None] = [webchat, telegram, whatsapp]
            channels = {c.name: c for c in enabled if c is not None}

        if store is None:
            store = make_store(settings.effective_database_url)
            await store.open()
            stack.push_async_callback(store.close)
        # logs name customers by a keyed digest: every process on this database, one key
        use_log_key(
            settings.log_key or await store.shared_secret("log-digest", secrets.token_urlsafe(32))
        )
        if whatsapp is not None:
            whatsapp.use_store(store)

        ozmap = OzmapClient.from_settings(settings, http, **(ozmap_options or {}))
        hours = BusinessHours.from_settings(settings)
        # the provider's plans and answers; its questions are extra examples for the understander
        plan_book = load_plan_book(settings.plans_file)
        geocoder = geocoder or make_geocoder(settings, http, store)
        understander = await _understander(settings, plan_book, _street_names(geocoder))
        services = Services(
            ozmap=ozmap,
            geocoder=geocoder,
            ceps=ceps or make_cep_lookup(settings, http),
            radius=settings.ozmap_radius,
            require_cpf=settings.require_cpf,
            prospect_tags=settings.prospect_tags,
            clock=clock,
            outages=OutageReader(ozmap, settings.outage_tags, ttl=settings.outage_tags_ttl),
            outage_handoff=settings.outage_handoff,
            business_hours=hours,
            answers=PlanAnswers(plan_book, catalogs),
            sales=SalesDesk.from_settings(
                settings, ozmap, counter=store.next_value, clock=clock, **(sales_options or {})
            ),
            understander=understander,
        )
        engine = Engine(
            store=store,
            flows=FLOWS if flows is None else flows,
            intents=INTENTS if intents is None else intents,
            services=services,
            catalogs=catalogs,
            channels=channels,
            default_language=settings.language,
            timers=timer_policy(settings, hours),
            clock=clock,
            outbox_lease=inbox_lease,
            outbox_sweep=inbox_sweep,
        )

        # every process runs timers: claims are atomic with a lease, so they never double up
        timers = TimerRunner(engine.fire_timer, store, clock=clock)
        if background:
            timers.start()
        stack.push_async_callback(timers.stop)
        # the agents' queue and web-chat replies reach the streams other processes hold
        queue_news = QueueNews(store, engine.events)
        queue_news.start()
        stack.push_async_callback(queue_news.stop)
        if webchat is not None:
            await webchat.use_news(store)
        pruner = Pruner(
            store,
            every=settings.prune_every,
            keep_messages=timedelta(days=settings.prune_message_days),
            clock=clock,
        )
        if background and settings.prune_every > 0:
            pruner.start()
        stack.push_async_callback(pruner.stop)
        # replies a process that died left unsent go first; stopped after the dispatcher's turns
        if background:
            await engine.outbox.start()
        stack.push_async_callback(engine.outbox.stop)

        dispatcher = Dispatcher(
            # the outbox row of a turn's replies goes with its inbox entry (one statement), and
            # so does the lock taken with the entry (bot/engine/dispatch.py)
            engine.handle_leaving_sent,
            store,
            handle_held=engine.handle_held,
            concurrency=settings.webhook_concurrency,
            metrics=metrics,
            lease=inbox_lease,
            sweep_every=inbox_sweep,
        )
        stack.push_async_callback(dispatcher.close, shutdown_grace)
        if background:
            # what a process that died left accepted runs before anything new is accepted
            await dispatcher.start()

        if settings.telegram_mode == "polling":
            if telegram is None:
                log.warning("Telegram polling asked for, but TELEGRAM_TOKEN is not set")
            else:
                await stack.enter_async_context(_polling(telegram, dispatcher))

        yield Runtime(
            settings=settings,
            http=http,
            catalogs=catalogs,
            channels=channels,
            webchat=webchat,
            telegram=telegram,
            whatsapp=whatsapp,
            store=store,
            ozmap=ozmap,
            services=services,
            engine=engine,
            timers=timers,
            dispatcher=dispatcher,
            metrics=metrics,
            pruner=pruner,
        )


def _street_names(geocoder: Geocoder) -> list[str]:
    """The streets an offline gazetteer knows, names and aliases, so "vcs atendem na rui
    barbosa 1200?" finds the street without its "rua" ("na beira mar norte 2300" by its
    alias); another geocoder knows no list (the rules still find "rua x 123")."""
    if isinstance(geocoder, GazetteerGeocoder):
        return geocoder.gazetteer.street_names()
    return []


async def _understander(
    settings: Settings, plan_book: PlanBook, streets: Sequence[str] = ()
) -> Understander | None:
    """The understander the settings name; None routes by keywords. The embedded model trains
    once per process for each set of the provider's own questions (``plan_book``'s FAQ
    entries, as ``faq_<id>`` examples): a few seconds of CPU, in a thread so the loop stays
    free."""
    if settings.understanding == "off":
        return None
    # imported here: it loads scikit-learn, which commands that run no bot do not need
    from bot.nlu.embedded import EmbeddedUnderstander

    extra = plan_book.extra_examples()
    return await asyncio.to_thread(
        lambda: EmbeddedUnderstander(extra_examples=extra, known_streets=streets)
    )


def timer_policy(settings: Settings, hours: BusinessHours | None) -> TimerPolicy | None:
    """The timers the settings ask for; None (no timer bookkeeping at all) when all are off."""
    nudge = _minutes(settings.nudge_minutes)
    expire = _minutes(settings.expire_minutes)
    handoff = _minutes(settings.handoff_timeout_minutes)
    if nudge is None and expire is None and handoff is None:
        return None
    return TimerPolicy(
        nudge_after=nudge,
        expire_after=expire,
        handoff_timeout=handoff,
        hours=hours,
        template=settings.twilio_timer_template_sid or None,
    )


def _minutes(value: float) -> timedelta | None:
    """A setting in minutes; 0 (or less) turns that timer off."""
    return timedelta(minutes=value) if value > 0 else None


def _channels(
    settings: Settings, http: httpx.AsyncClient, catalogs: Catalogs
) -> tuple[WebchatChannel, TelegramChannel | None, WhatsappChannel | None]:
    t = catalogs.translator(settings.language)
    telegram = None
    if settings.telegram_token:
        bot = make_bot(settings.telegram_token, http, settings.telegram_api_url)
        telegram = TelegramChannel(bot, location_label=t("channel.share_location"))
    return WebchatChannel(), telegram, _whatsapp(settings, http, catalogs)


def _whatsapp(
    settings: Settings, http: httpx.AsyncClient, catalogs: Catalogs
) -> WhatsappChannel | None:
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
                await dispatcher.submit(clean_inbound(event.inbound))
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
