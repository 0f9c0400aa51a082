"""The composition root: settings in, a running engine out. Shared by ``ozbot demo`` and the web
server's lifespan; nothing here runs at import time.

``build_runtime`` opens the store, builds the OZmap client, the geocoder and CEP lookup, loads
the catalogs, and assembles the engine over the given channels. The caller owns ``http`` (it
closes it after :meth:`Runtime.aclose`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from bot.channels.base import Channel
from bot.engine import Engine, Services
from bot.engine.hours import BusinessHours
from bot.engine.timers import TimerPolicy, TimerRunner
from bot.geo.base import CepLookup, Geocoder
from bot.geo.factory import make_cep_lookup, make_geocoder
from bot.i18n import Catalogs
from bot.ozmap.client import OzmapClient
from bot.ozmap.outage import OutageReader
from bot.ozmap.sales import SalesDesk
from bot.settings import Settings
from bot.storage import make_store
from bot.storage.base import Store

__all__ = ["Runtime", "build_runtime"]


@dataclass(frozen=True)
class Runtime:
    """Everything a running bot holds. ``aclose`` closes the store (idempotent)."""

    settings: Settings
    store: Store
    ozmap: OzmapClient
    geocoder: Geocoder
    ceps: CepLookup
    catalogs: Catalogs
    engine: Engine

    async def aclose(self) -> None:
        await self.store.close()

    def timer_runner(self, **options: Any) -> TimerRunner:
        """The runner of this bot's timers (``start()`` it after start-up, ``await stop()`` it
        before :meth:`aclose`); ``options`` go to :class:`TimerRunner`."""
        return TimerRunner(self.engine.fire_timer, self.store, **options)


async def build_runtime(
    settings: Settings, http: httpx.AsyncClient, channels: Mapping[str, Channel]
) -> Runtime:
    """Build and open everything the engine needs.

    Raises :class:`bot.errors.ConfigError` for a setting that cannot work (naming it), and
    :class:`bot.errors.StorageError` when the database cannot be opened; nothing is left open
    when it raises.
    """
    # imported here, not at module level: the flows are the product's, the engine stays generic
    from flows import FLOWS, INTENTS

    catalogs = Catalogs.load()
    ozmap = OzmapClient.from_settings(settings, http)
    ceps = make_cep_lookup(settings, http)
    store = make_store(settings.effective_database_url)
    await store.open()
    try:
        geocoder = make_geocoder(settings, http, store)
        hours = BusinessHours.from_settings(settings)
        services = Services(
            ozmap=ozmap,
            geocoder=geocoder,
            ceps=ceps,
            radius=settings.ozmap_radius,
            require_cpf=settings.require_cpf,
            prospect_tags=settings.prospect_tags,
            outages=OutageReader(ozmap, settings.outage_tags, ttl=settings.outage_tags_ttl),
            outage_handoff=settings.outage_handoff,
            business_hours=hours,
            sales=SalesDesk(
                ozmap,
                radius=settings.ozmap_radius,
                prospect_tags=settings.prospect_tags,
                timezone=settings.timezone,
            ),
        )
        engine = Engine(
            store=store,
            flows=FLOWS,
            intents=INTENTS,
            services=services,
            catalogs=catalogs,
            channels=channels,
            default_language=settings.language,
            timers=TimerPolicy(
                nudge_after=_minutes(settings.nudge_minutes),
                expire_after=_minutes(settings.expire_minutes),
                handoff_timeout=_minutes(settings.handoff_timeout_minutes),
                hours=hours,
                template=settings.twilio_timer_template_sid or None,
            ),
        )
    except BaseException:
        await store.close()
        raise
    return Runtime(
        settings=settings,
        store=store,
        ozmap=ozmap,
        geocoder=geocoder,
        ceps=ceps,
        catalogs=catalogs,
        engine=engine,
    )


def _minutes(value: float) -> timedelta | None:
    """A setting in minutes; 0 (or less) turns that timer off."""
    return timedelta(minutes=value) if value > 0 else None
