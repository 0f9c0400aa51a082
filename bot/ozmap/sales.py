"""What a sale asks of OZmap, decided here so the flows only call it.

:class:`SalesDesk` answers the three questions of the sales flow:

* :meth:`~SalesDesk.coverage`: can this point be served, and on which boxes (nearest first)?
  The boxes (by radius or poles, :mod:`bot.ozmap.feasibility`) and the condominiums around the
  point are looked up together: one OZmap round trip of wall time when the feasibility answer
  lists boxes and the customer lives in no condominium. Inside a condominium only its own
  network serves the customer.
* :meth:`~SalesDesk.reserve`: reserve a port on the first of those boxes that still has one
  (``auto_connect``; the next box when OZmap says there is no free port), unless an earlier
  attempt with the same code already got through. When the answer to the reservation is lost
  (a timeout, a 5xx from a gateway), OZmap may have made it all the same: the code, made and
  saved before the request, is looked up, and what OZmap holds decides what the customer is
  told. When OZmap cannot be asked, :class:`~bot.errors.ReservationUnconfirmed` says so and
  :func:`remember_reservation` keeps the code among the conversation's reservations, so the
  customer can check again or cancel it (issue 10, item 3).
* :meth:`~SalesDesk.new_code` / :meth:`~SalesDesk.record_prospect`: the code an ERP can match
  (:mod:`bot.ozmap.codes`), and a prospect carrying one where there is no coverage.

Everything here raises only :mod:`bot.errors` (what the client raises).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.errors import (
    ConfigError,
    NoFreePort,
    OzmapError,
    OzmapRejected,
    OzmapUnavailable,
    ReservationUnconfirmed,
)
from bot.nlu.text import fold, words
from bot.ozmap.answers import distance_m
from bot.ozmap.client import OzmapClient
from bot.ozmap.codes import CodeTemplate, Counter
from bot.ozmap.feasibility import MODES, BoxFinder, PolesFinder, RadiusFinder
from bot.ozmap.models import CondoOption, NewReservation, Property, Prospect
from bot.settings import Settings
from bot.validation import parse_house_number

__all__ = [
    "BUILDING_AT_POINT_M",
    "RESERVATIONS_KEY",
    "Booking",
    "Coverage",
    "SalesDesk",
    "booked_for",
    "forget_reservation",
    "in_condominium",
    "lives_in",
    "remember_reservation",
    "reservations",
]

#: a building this close to the point is the customer's even if the addresses differ in form
BUILDING_AT_POINT_M = 30.0
#: a property holding a booking's code this close to its point is that booking's reservation
#: (the bot sent the point itself; OZmap keeps it as sent)
BOOKED_AT_POINT_M = 5.0
_STREET_TYPES = frozenset({"r", "rua", "av", "avenida", "al", "alameda", "tv", "travessa", "rod"})
_OBJECT_ID = re.compile(r"[0-9a-f]{24}")


def _words(text: str) -> str:
    """How addresses are compared: the customers' text normalisation (:mod:`bot.nlu.text`:
    lower case, no accents, no punctuation), digits kept (house numbers differ)."""
    return " ".join(words(fold(text, digits=True)))


def lives_in(
    kind: str, distance: float, address: str | None, street: str | None, number: str | None
) -> bool:
    """Whether the customer's place is in this condominium. A horizontal one contains the point
    (OZmap matched its polygon); a building is only *near* it, so it counts when it stands at
    the point or its address names the same street and number."""
    if kind == "horizontal" or distance <= BUILDING_AT_POINT_M:
        return True
    if not (street and number and address):
        return False
    name = _words(street).split()
    if name and name[0] in _STREET_TYPES:
        name = name[1:]
    same_number = parse_house_number(address) == parse_house_number(number)
    return same_number and bool(name) and " ".join(name) in _words(address)


def in_condominium(option: CondoOption, street: str | None, number: str | None) -> bool:
    """:func:`lives_in` for a condominium option."""
    return lives_in(option.kind, option.distance, option.address, street, number)


@dataclass(frozen=True)
class Coverage:
    """Feasibility for one point: ``kind`` is ``box``, ``condominium`` or ``none``; ``boxes``
    the ids to reserve on, in the order to try them."""

    kind: Literal["box", "condominium", "none"]
    boxes: tuple[str, ...] = ()
    condominium: CondoOption | None = None
    distance: float | None = None

    @property
    def covered(self) -> bool:
        return self.kind != "none"

    def to_context(self) -> dict[str, Any]:
        """A JSON-able form for the conversation's context (what :meth:`SalesDesk.reserve`
        needs back is ``boxes``)."""
        out: dict[str, Any] = {"kind": self.kind, "boxes": list(self.boxes)}
        if self.condominium is not None:
            c = self.condominium
            out["condominium"] = {"id": c.id, "name": c.name, "kind": c.kind}
        if self.distance is not None:
            out["distance"] = self.distance
        return out


@dataclass(frozen=True)
class Booking:
    """Who and where a reservation is for; ``code`` is the client code (see :meth:`new_code`);
    ``cpf`` the customer's 11 digits when the bot asked for them (OZmap sees them only where
    the provider opted in: :attr:`SalesDesk.cpf_in_observation`, ``{cpf}`` in the code)."""

    code: str
    name: str
    lat: float
    lng: float
    address: str
    observation: str = ""
    client_observation: str = ""
    cpf: str | None = field(default=None, repr=False)


#: where a conversation keeps the reservations its contact made (``Conversation.context``)
RESERVATIONS_KEY = "reservations"


def reservations(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The reservations a conversation's contact made, newest last: the only codes its customer
    may cancel or ask about, and an agent act on. Each has a ``code``, an ``address``, the
    ``property_id`` OZmap gave it (None while *unconfirmed*) and ``created_at``. A copy, read
    only (:func:`remember_reservation` and :func:`forget_reservation` change the list); entries
    without a code (a context written by hand, an older version) are left out."""
    found = context.get(RESERVATIONS_KEY)
    if not isinstance(found, list):
        return []
    return [r for r in found if isinstance(r, dict) and isinstance(r.get("code"), str)]


def remember_reservation(
    context: MutableMapping[str, Any],
    *,
    code: str,
    address: str,
    at: datetime,
    property_id: str | None = None,
) -> None:
    """Keep a reservation among the conversation's (:func:`reservations`). Without
    ``property_id`` it is *unconfirmed* (sent, its answer lost, OZmap not asked yet): kept all
    the same, since OZmap may hold it. The entry of ``code`` is replaced (its first time kept)
    and put last, as the newest."""
    kept = reservations(context)
    earlier = next((r for r in kept if r["code"] == code), None)
    entry: dict[str, Any] = {
        "code": code,
        "property_id": property_id,
        "address": address,
        "created_at": (earlier or {}).get("created_at") or at.isoformat(),
    }
    if property_id is None:
        entry["unconfirmed"] = True
    context[RESERVATIONS_KEY] = [*(r for r in kept if r["code"] != code), entry]


def forget_reservation(context: MutableMapping[str, Any], code: str) -> None:
    """Drop the reservation of ``code`` from the conversation's (it was cancelled, or is gone)."""
    context[RESERVATIONS_KEY] = [r for r in reservations(context) if r["code"] != code]


def booked_for(
    found: Sequence[Property],
    *,
    address: str,
    lat: float | None = None,
    lng: float | None = None,
    name: str | None = None,
) -> Property | None:
    """The property of ``found`` (those holding a reservation's code) that is that reservation:
    at its point, at its address or for its client's name (what the bot sent OZmap). None when
    the code is held only by another client's property (a code handed out twice: a ``{seq}``
    counter started again on a new database, a template shared by two systems), which must
    never become this customer's to be told about or to cancel."""
    wanted = _words(address)
    for prop in found:
        at_point = (
            lat is not None
            and lng is not None
            and prop.lat is not None
            and prop.lng is not None
            and distance_m(prop.lat, prop.lng, lat, lng) <= BOOKED_AT_POINT_M
        )
        client = prop.client_obj
        named = (
            bool(name) and client is not None and _words(client.name or "") == _words(name or "")
        )
        if at_point or named or (wanted and _words(prop.address) == wanted):
            return prop
    return None


def _code_taken() -> OzmapRejected:
    """OZmap holds the booking's code for another client (the code is left out: it may carry
    the CPF's digits)."""
    return OzmapRejected(
        "OZmap holds this reservation code for another client: codes must be unique (check "
        "OZMAP_CODE_TEMPLATE, and that {seq} was not started again on a new database)",
        status=409,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SalesDesk:
    """The sales flow's view of OZmap. ``mode``: feasibility by ``radius`` (metres searched
    around the point) or by ``poles`` (the nearest pole within ``pole_radius``, drops of at most
    ``max_drop``; see :mod:`bot.ozmap.feasibility`); ``prospect_tags``: names or ids put on
    prospects; ``codes``: how codes are made; ``timezone``: the provider's, for dates in codes;
    ``cpf_in_observation``: also write the CPF into the client's observation (a free-text field
    OZmap keeps after the bot erases a conversation, so off unless the provider opts in).
    Raises ConfigError for an unknown mode."""

    ozmap: OzmapClient
    radius: float = 250
    prospect_tags: tuple[str, ...] = ()
    codes: CodeTemplate = field(default_factory=CodeTemplate)
    timezone: str = "America/Sao_Paulo"
    clock: Callable[[], datetime] = _utcnow
    mode: str = "radius"
    pole_radius: float = 100.0
    max_drop: float = 250.0
    cpf_in_observation: bool = False
    finder: BoxFinder = field(init=False)

    def __post_init__(self) -> None:
        if self.mode == "radius":
            self.finder = RadiusFinder(self.ozmap, self.radius)
        elif self.mode == "poles":
            self.finder = PolesFinder(
                self.ozmap, pole_radius=self.pole_radius, max_drop=self.max_drop
            )
        else:
            raise ConfigError(f"OZMAP_FEASIBILITY_MODE={self.mode!r}: use {' or '.join(MODES)}")

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        ozmap: OzmapClient,
        *,
        counter: Counter | None = None,
        **overrides: Any,
    ) -> SalesDesk:
        """The desk the settings describe; ``counter`` (the store's ``next_value``) makes
        ``{seq}`` codes; ``overrides`` replace fields (``clock``...). Raises ConfigError for a
        code template or a mode that cannot work."""
        options: dict[str, Any] = {
            "radius": settings.ozmap_radius,
            "prospect_tags": settings.prospect_tags,
            "codes": CodeTemplate(
                settings.ozmap_code_template, counter=counter, cpf_known=settings.require_cpf
            ),
            "timezone": settings.timezone,
            "mode": settings.ozmap_feasibility_mode,
            "pole_radius": settings.ozmap_pole_radius,
            "max_drop": settings.ozmap_max_drop,
            "cpf_in_observation": settings.ozmap_cpf_in_observation,
            **overrides,
        }
        return cls(ozmap, **options)

    async def coverage(
        self, lat: float, lng: float, *, street: str | None = None, number: str | None = None
    ) -> Coverage:
        """Where a sale at this point can reserve; ``street``/``number`` tell a building the
        customer lives in from one that is merely near."""
        found, condo = await asyncio.gather(
            self.finder.find(lat, lng), self._condominium(lat, lng, street, number)
        )
        if condo is not None:
            return Coverage("condominium", (condo.box_id,), condominium=condo)
        if found.boxes:
            first = found.boxes[0]
            return Coverage("box", tuple(b.id for b in found.boxes), distance=first.distance)
        return Coverage("none")

    async def _condominium(
        self, lat: float, lng: float, street: str | None, number: str | None
    ) -> CondoOption | None:
        """The condominium the customer lives in, when it has a free port. Its ports are read
        only for a building the customer is in and a horizontal condominium around the point,
        so a house near a building costs no second round trip."""
        buildings, condominiums = await self.ozmap.condominiums_at(lat, lng)
        mine = [(d, b) for d, b in buildings if lives_in("building", d, b.address, street, number)]
        if not mine and not condominiums:
            return None
        options = await self.ozmap.condominium_options(lat, lng, mine, condominiums)
        return next((o for o in options if o.free_ports > 0), None)

    async def new_code(self, cpf: str | None = None) -> str:
        """A new client code from the provider's template."""
        now = self.clock().astimezone(ZoneInfo(self.timezone))
        return await self.codes.render(now, cpf)

    async def reserve(self, booking: Booking, boxes: Sequence[str]) -> Property | None:
        """Reserve a port for ``booking`` on the first box of ``boxes`` that has one; None when
        none had. A property already holding ``booking.code`` (an earlier attempt whose answer
        was lost) is returned as it is: a retried reservation never reserves twice; one of
        another client holding it (:func:`booked_for`) is OzmapRejected (409), never this
        customer's."""
        existing = await self.ozmap.properties_by_client_code(booking.code)
        if existing:
            return self._this_booking(booking, existing)
        for box in boxes:
            try:
                return await self.ozmap.create_property(
                    NewReservation(
                        box=box,
                        lat=booking.lat,
                        lng=booking.lng,
                        address=booking.address,
                        observation=booking.observation,
                        client_code=booking.code,
                        client_name=booking.name,
                        client_observation=self.client_observation(booking),
                        auto_connect=True,
                        force=False,  # only ports that are really lit (attached to a PON)
                    )
                )
            except NoFreePort:
                continue  # taken since the feasibility check: try the next box
            except OzmapRejected as refused:
                # a code already in use: an earlier request with it, whose answer was lost,
                # has landed since the look-up above; it is this reservation
                if refused.status != 409:
                    raise
                found = await self.ozmap.properties_by_client_code(booking.code)
                if not found:
                    raise
                return self._this_booking(booking, found)
            except OzmapUnavailable as lost:
                # OZmap may have made it and only the answer was lost: never try the next box
                return await self._after_lost_answer(booking, lost)
        return None

    @staticmethod
    def _this_booking(booking: Booking, found: Sequence[Property]) -> Property:
        """The property of ``found`` that is ``booking``'s; OzmapRejected (409) when the code
        is another client's."""
        mine = booked_for(
            found, address=booking.address, lat=booking.lat, lng=booking.lng, name=booking.name
        )
        if mine is None:
            raise _code_taken()
        return mine

    async def _after_lost_answer(self, booking: Booking, lost: OzmapUnavailable) -> Property:
        """What OZmap holds under the booking's code after a reservation whose answer was lost.

        Raises ``lost`` again when OZmap answered (a 5xx) and holds nothing under the code:
        nothing was reserved, "OZmap is down" is the truth. Raises ReservationUnconfirmed when
        OZmap cannot be asked, or when the request got no answer at all (a timeout, or a
        gateway's 504 that gave up waiting: it may still be running there) and nothing is there
        yet; OzmapRejected when what holds the code is another client's. No message names the
        code (it may carry the CPF's digits): the exception's ``code`` does."""
        code = booking.code
        try:
            found = await self.ozmap.properties_by_client_code(code)
        except OzmapError as exc:
            raise ReservationUnconfirmed(
                code, "a reservation got no answer and OZmap cannot say if it holds it"
            ) from exc
        if found:
            return self._this_booking(booking, found)
        if lost.status in (None, 504):
            raise ReservationUnconfirmed(
                code, "a reservation got no answer; OZmap holds nothing under its code yet"
            ) from lost
        raise lost

    def client_observation(self, booking: Booking) -> str:
        """The client's observation: the booking's, and the CPF only where the provider opted
        in (OZMAP_CPF_IN_OBSERVATION): free text in OZmap is beyond the bot's erasure."""
        parts = [booking.client_observation]
        if self.cpf_in_observation and booking.cpf:
            parts.append(f"CPF {booking.cpf}")
        return " · ".join(p for p in parts if p)

    async def prospect_tag_ids(self) -> list[str]:
        """The configured prospect tags as OZmap ids: ids are taken as they are, names looked
        up (a name OZmap does not know is left out rather than failing the customer's turn)."""
        ids = [tag for tag in self.prospect_tags if _OBJECT_ID.fullmatch(tag)]
        names = [tag for tag in self.prospect_tags if tag not in ids]
        if names:
            ids.extend(tag.id for tag in await self.ozmap.tags(names))
        return ids

    async def record_prospect(
        self,
        *,
        name: str,
        phone: str,
        address: str,
        lat: float,
        lng: float,
        code: str | None = None,
        observation: str = "",
    ) -> Prospect:
        """A prospect where there is no coverage, with a code (``code``, else a new one) as its
        ``code`` and ``external_id`` so the provider's ERP finds what the bot recorded;
        ``observation`` is the prospect's free text (e.g. the plan the customer chose). One
        already recorded with ``code`` (a turn run again after its process lost the
        conversation, whose first run got through) is returned, not recorded twice."""
        if code:
            # checked here too: an OZmap that ignored the filter must not hand back another's
            found = [p for p in await self.ozmap.prospects_by_code(code) if p.code == code]
            if found:
                return found[0]
        code = code or await self.new_code()
        return await self.ozmap.create_prospect(
            name=name,
            phone=phone,
            address=address,
            lat=lat,
            lng=lng,
            observation=observation,
            tags=await self.prospect_tag_ids(),
            code=code,
            external_id=code,
        )
