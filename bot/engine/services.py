"""The services a flow's steps may use: ports and a slice of the settings, frozen.

Steps reach OZmap and geocoding only through this object, so flows never import adapters,
storage, channels or the web layer, and tests hand in the real sandbox-backed client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.conversation import utcnow
from bot.engine.hours import BusinessHours
from bot.geo.base import CepLookup, Geocoder
from bot.ozmap.client import OzmapClient
from bot.ozmap.outage import OutageReader
from bot.ozmap.sales import SalesDesk

__all__ = ["Services"]


@dataclass(frozen=True)
class Services:
    """What steps call. ``radius`` is the feasibility search radius in metres; ``require_cpf``
    makes the sales flow ask for (and check) a CPF; ``prospect_tags`` label recorded prospects.
    ``outages`` reads mass-outage tags (None: the outage flow builds none and says OZmap is
    unavailable); ``outage_handoff`` also queues a customer told of an outage for a person;
    ``business_hours`` (None: always open) tells a customer waiting for a person when.
    ``sales`` is what the sales flow asks OZmap (feasibility, reservations, codes, prospects);
    left out, one is made from ``ozmap``, ``radius`` and ``prospect_tags``."""

    ozmap: OzmapClient
    geocoder: Geocoder
    ceps: CepLookup
    radius: int = 250
    require_cpf: bool = False
    prospect_tags: tuple[str, ...] = ()
    clock: Callable[[], datetime] = field(default=utcnow)
    outages: OutageReader | None = None
    outage_handoff: bool = False
    business_hours: BusinessHours | None = None
    sales: SalesDesk = field(default=None)  # type: ignore[assignment]  # filled in below

    def __post_init__(self) -> None:
        if self.sales is None:
            desk = SalesDesk(self.ozmap, radius=self.radius, prospect_tags=self.prospect_tags)
            object.__setattr__(self, "sales", desk)
