"""The services a flow's steps may use: ports and a slice of the settings, frozen.

Steps reach OZmap and geocoding only through this object, so flows never import adapters,
storage, channels or the web layer, and tests hand in the real sandbox-backed client.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.conversation import utcnow
from bot.engine.hours import BusinessHours
from bot.geo.base import CepLookup, Geocoder
from bot.messages import Reply
from bot.nlu.base import Understander, Understanding
from bot.ozmap.client import OzmapClient
from bot.ozmap.outage import OutageReader
from bot.ozmap.sales import SalesDesk

__all__ = ["Answerer", "PlanOffer", "Services"]


@dataclass(frozen=True, slots=True)
class PlanOffer:
    """A plan a covered customer may choose. ``id`` is what the reservation or prospect records
    (stable across languages); ``label`` is what the customer reads, in their language
    ("Fibra 300 Mega: R$ 99,90/mês"); ``speed`` in Mbit/s matches "o de 300 mega"."""

    id: str
    label: str
    speed: int | None = None


class Answerer(Protocol):
    """The provider's answers: prices, plans and short FAQ texts, per language. The engine asks
    it when a customer asks a question anywhere (a *digression*: answered, then the pending
    question is asked again), and the sales flow offers its plans. Must not raise."""

    def answer(self, understanding: Understanding, language: str) -> Reply | None:
        """The reply to the question ``understanding`` holds (its intent: ``ask_price``
        or ``faq_*``; its entities: a plan's speed), in ``language``; None when
        there is no answer for it (the engine then says it cannot answer that)."""
        ...

    def plans(self, language: str) -> Sequence[PlanOffer]:
        """The plans to offer, in the order shown; empty when the provider lists none (then no
        plan is asked)."""
        ...


@dataclass(frozen=True)
class Services:
    """What steps call. ``radius`` is the feasibility search radius in metres; ``require_cpf``
    makes the sales flow ask for (and check) a CPF; ``prospect_tags`` label recorded prospects.
    ``outages`` reads mass-outage tags (None: the outage flow builds none and says OZmap is
    unavailable); ``outage_handoff`` also queues a customer told of an outage for a person;
    ``business_hours`` (None: always open) tells a customer waiting for a person when.
    ``sales`` is what the sales flow asks OZmap (feasibility, reservations, codes, prospects);
    left out, one is made from ``ozmap``, ``radius`` and ``prospect_tags``. ``understander``
    reads each message (None: flows read the bare text); ``answers`` answers questions asked on
    the way and lists the plans (None: no answers, no plans)."""

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
    understander: Understander | None = None
    answers: Answerer | None = None

    def __post_init__(self) -> None:
        if self.sales is None:
            desk = SalesDesk(self.ozmap, radius=self.radius, prospect_tags=self.prospect_tags)
            object.__setattr__(self, "sales", desk)
