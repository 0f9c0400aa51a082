"""Finding the customer's address, for the sales flow: a typed address, a CEP (with or without
the house number), coordinates, or a location pin (reverse-geocoded to something readable).

The readers return the sales flow's outcomes (:class:`flows.sales_states.Outcome`) and keep what
they found in the flow's context (``context["sales"]``): the candidates to confirm or choose
from, or the CEP's street while the number is asked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.engine import Services, Turn
from bot.errors import InvalidInput
from bot.geo.base import Lookups, Place
from bot.nlu.base import EntityKind
from bot.validation import (
    NO_NUMBER,
    format_cep,
    parse_cep,
    parse_coordinates,
    parse_house_number,
)
from flows.sales_states import Outcome as O  # as in the flow table

__all__ = [
    "correct_number",
    "geocoded",
    "place_dict",
    "read_address",
    "read_number",
    "sales",
    "street_and_number",
    "with_number",
]

K = EntityKind

_LETTER = re.compile(r"[^\W\d_]")
# a house number written with a thousands dot at the end of a street: "1.200"
_THOUSANDS = re.compile(r"\b(\d{1,3})\.(\d{3})(\s*[a-z]?)$", re.IGNORECASE)
# a house number marked as such at the end of a street: "n° 1200", "nº 12", "num 7", "numero 40"
_MARKED_NUMBER = re.compile(
    r"[\s,]*\b(?:n[º°o]?\.?|nro\.?|num\.?|n[uú]mero|number)\s*:?\s*\d{1,6}\s*-?\s*[a-z]?$",
    re.IGNORECASE,
)


def sales(turn: Turn) -> dict[str, Any]:
    """The sales flow's part of the conversation's context."""
    data: dict[str, Any] = turn.context.setdefault("sales", {})
    return data


def services(turn: Turn) -> Services:
    result: Services = turn.services
    return result


def geocoded(context: Mapping[str, Any]) -> Lookups:
    """What the sales flow asked the geocoder for the customer, as its context remembers it (so
    an erasure makes the geocoder forget it): the points of the places found or pinned, and the
    queries built from a CEP's street. What the customer typed is in the transcript."""
    data = context.get("sales")
    if not isinstance(data, Mapping):
        return Lookups()
    places = [data.get("place"), *(data.get("candidates") or [])]
    cep = data.get("cep") if isinstance(data.get("cep"), Mapping) else None
    texts: list[str] = []
    points: list[tuple[float, float]] = []
    for place in places:
        if not isinstance(place, Mapping):
            continue
        lat, lng = place.get("lat"), place.get("lng")
        if isinstance(lat, int | float) and isinstance(lng, int | float):
            points.append((float(lat), float(lng)))
        if cep is not None and place.get("street"):
            # the CEP path asks for "street, number, city" (or without the number)
            parts = (place.get("street"), place.get("number"), cep.get("city"))
            texts.append(", ".join(str(p) for p in parts if p))
    if cep is not None and cep.get("street"):
        texts.append(", ".join(str(p) for p in (cep["street"], cep.get("city")) if p))
    return Lookups(tuple(texts), tuple(points))


def place_dict(place: Place) -> dict[str, Any]:
    return {
        "address": place.address,
        "lat": place.lat,
        "lng": place.lng,
        "street": place.street,
        "number": place.number,
        "city": place.city,
    }


def _offer(turn: Turn, places: list[Place], *, street_will_do: bool = False) -> O:
    """found / ambiguous / not_found, with the candidates saved for the next prompt."""
    if not places:
        turn.say(turn.t("sales.address_not_found"))
        return O.NOT_FOUND
    if len(places) == 1 and places[0].street and not places[0].number and not street_will_do:
        # the street alone (its midpoint): the number decides which box is near
        place = places[0]
        sales(turn)["cep"] = {"cep": place.cep, "street": place.street, "city": place.city}
        return O.NEEDS_NUMBER
    sales(turn)["candidates"] = [place_dict(p) for p in places[:3]]
    return O.FOUND if len(places) == 1 else O.AMBIGUOUS


async def _pin(turn: Turn, lat: float, lng: float) -> O:
    try:
        place = await services(turn).geocoder.reverse(lat, lng)
    except InvalidInput:
        turn.say(turn.t("geo.location_invalid"))
        return O.UNCLEAR
    address = place.address if place is not None else turn.t("sales.pin_address", lat=lat, lng=lng)
    # the pin itself is more exact than the address the reverse geocoder matched it to
    candidate = place_dict(place) if place is not None else {"address": address}
    sales(turn)["candidates"] = [{**candidate, "lat": lat, "lng": lng}]
    return O.FOUND


async def street_and_number(turn: Turn, cep: dict[str, Any], number: str) -> O:
    # "s/n": the street alone, the customer confirms (or corrects) where on it
    query = ", ".join(
        p for p in (cep["street"], "" if number == NO_NUMBER else number, cep["city"]) if p
    )
    places = await services(turn).geocoder.geocode(query, limit=3)
    if not places:
        turn.say(turn.t("sales.number_not_found", street=cep["street"], number=number))
        return O.NOT_FOUND
    return _offer(turn, places, street_will_do=number == NO_NUMBER)


async def read_address(turn: Turn) -> O:
    """A pin, coordinates, a CEP (with or without the number) or a typed address: what the
    understander found in this message or an earlier one (used up), else the message's text."""
    message = turn.message
    typed, cep_code, number = turn.take(K.ADDRESS), turn.take(K.CEP), turn.take(K.HOUSE_NUMBER)
    if message.location is not None and typed is None and cep_code is None:
        return await _pin(turn, message.location.lat, message.location.lng)
    text = turn.text
    coordinates = parse_coordinates(text)
    if coordinates is not None:
        return await _pin(turn, *coordinates)
    cep_code = cep_code or parse_cep(text)
    if cep_code is not None:
        found = await services(turn).ceps.lookup(cep_code)
        if found is None or not found.street:
            # unknown, or a city-wide CEP that names no street
            turn.say(turn.t("geo.cep_not_found", cep=format_cep(cep_code)))
            return O.UNCLEAR
        cep = {"cep": cep_code, "street": found.street, "city": found.city}
        sales(turn)["cep"] = cep
        number = number or parse_house_number(text)
        if number is not None:
            return await street_and_number(turn, cep, number)
        return O.NEEDS_NUMBER
    query = with_number(typed, number) if typed else text
    if len(_LETTER.findall(query)) < 3 or (typed is None and _no_address(turn)):
        turn.say(turn.t("sales.address_unclear"), ask_location=True)
        return O.UNCLEAR
    return _offer(turn, await services(turn).geocoder.geocode(query, limit=3))


def with_number(street: str, number: str | None) -> str:
    """The street the understander found and the house number found beside it, as a geocoder
    query: "rua rui barbosa" and "1200", or "rua rui barbosa n° 1200" ("numero 400", "num
    12") → "rua rui barbosa, 1200". A street that ends with its bare number is kept as it is."""
    if number is None or number == NO_NUMBER:
        return street
    street = _THOUSANDS.sub(r"\1\2", street)  # "rua rui barbosa 1.200" → "... 1200"
    bare = _MARKED_NUMBER.sub("", street)
    digits = re.escape(number.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    if bare == street and re.search(rf"(?<!\d){digits}(?!\d)", street):
        return street
    return f"{bare.rstrip(' ,')}, {number}"


#: what a message that holds an address may otherwise mean ("delminda silveira 900" is data,
#: "quero contratar na rua x" a request)
_MAY_HOLD_AN_ADDRESS = frozenset({None, "inform", "correct", "buy"})


def _no_address(turn: Turn) -> bool:
    """Whether the message plainly holds no address: no street, CEP or number found in it, no
    digit, and read as something else ("nao sei o endereco direito", "eh perto do mercado",
    "no idea"). It gets the example of how to write one, not "address not found"."""
    understood = turn.understanding
    if understood is None or understood.intent in _MAY_HOLD_AN_ADDRESS:
        return False
    if any(ch.isdigit() for ch in turn.text):
        return False
    return all(understood.first(kind) is None for kind in (K.ADDRESS, K.CEP, K.HOUSE_NUMBER))


async def read_number(turn: Turn) -> O:
    number = turn.take(K.HOUSE_NUMBER) or parse_house_number(turn.text)
    if number is None:
        turn.say(turn.t("sales.number_unclear"))
        return O.UNCLEAR
    return await street_and_number(turn, sales(turn)["cep"], number)


async def correct_number(turn: Turn, place: Mapping[str, Any], number: str) -> O:
    """Another number on the street found ("nao, na verdade é 1500"): found anew, to confirm."""
    street = place.get("street")
    if not street:
        # a pin, or a place without a street name: the customer gives the address again
        turn.say(turn.t("sales.retry"))
        return O.RETRY
    cep = sales(turn).get("cep") or {}
    city = place.get("city") or cep.get("city") or ""
    return await street_and_number(turn, {"street": street, "city": city}, number)
