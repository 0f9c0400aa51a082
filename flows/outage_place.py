"""Where the customer asking about an outage is: a location pin (or typed coordinates), a CEP and
the house number, or a typed address; and whether a message is a client code instead.

The readers keep what they found in the outage flow's context (``context["outage"]``) and
return either the place to check (a dict with ``address``, ``lat``, ``lng``) or the name of the
flow's outcome: ``needs_number`` (a CEP without it), ``ambiguous`` (candidates to choose from),
``retry`` (nothing found: where, again) or ``unclear``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.engine import Turn
from bot.errors import InvalidInput
from bot.geo.base import Lookups, Place
from bot.nlu.base import EntityKind
from bot.validation import fold, format_cep, parse_cep, parse_coordinates, parse_house_number
from flows.common import CODE_PREFIX, WORD, looks_like_code

__all__ = [
    "PlaceFound",
    "choose_place",
    "code_in",
    "geocoded",
    "outage_data",
    "read_number",
    "read_place",
    "talks_of_a_code",
]

#: a place to check, or the name of the outcome that asks again
PlaceFound = dict[str, Any] | str
#: how many candidates a typed address may offer
CANDIDATES = 3

_LETTER = re.compile(r"[^\W\d_]")
_DIGITS = re.compile(r"\d[\d.\-\s]*")


def outage_data(turn: Turn) -> dict[str, Any]:
    """The outage flow's part of the conversation's context."""
    data: dict[str, Any] = turn.context.setdefault("outage", {})
    return data


def geocoded(context: Mapping[str, Any]) -> Lookups:
    """What the outage flow asked the geocoder, as its context remembers it (for an erasure):
    the points of the candidates offered and the CEP's street it searched."""
    data = context.get("outage")
    if not isinstance(data, Mapping):
        return Lookups()
    points = [
        (float(c["lat"]), float(c["lng"]))
        for c in [data.get("place"), *(data.get("candidates") or [])]
        if isinstance(c, Mapping) and isinstance(c.get("lat"), int | float)
    ]
    texts = []
    cep = data.get("cep")
    if isinstance(cep, Mapping) and cep.get("street"):
        texts.append(", ".join(str(p) for p in (cep["street"], cep.get("city")) if p))
        if isinstance(data.get("number"), str):
            texts.append(
                ", ".join(str(p) for p in (cep["street"], data["number"], cep.get("city")) if p)
            )
    return Lookups(tuple(texts), tuple(points))


def code_in(turn: Turn) -> str | None:
    """The client code the message holds: a ``code:`` button, a code the understander found, a
    word spelled like one ("OZB-7KQ2MX", "cliente_42", "123|123"), or a message made of digits
    alone that is not a CEP. A house number or a CEP inside an address is not a code."""
    button: str | None = turn.button
    if button is not None and button.startswith(CODE_PREFIX):
        return button.removeprefix(CODE_PREFIX)
    if turn.message.location is not None:
        return None
    if turn.understanding is not None:
        # the same spelling rule: the understander may read "900-A" in an address as a code
        found = [e.value for e in turn.understanding.all(EntityKind.CODE)]
        spelled = [c for c in found if _spelled_like_a_code(c) or _DIGITS.fullmatch(c)]
        if spelled:
            return spelled[0]
    text: str = turn.text
    if parse_cep(text) is not None or parse_coordinates(text) is not None:
        return None
    words = [w for w in WORD.findall(text) if _spelled_like_a_code(w)]
    if words:
        return str(words[0])
    if text and _DIGITS.fullmatch(text) and len(text) >= 4:
        return text.replace(" ", "")
    return None


#: the words for a client code ("nao sei meu codigo", "i don't have the code")
_CODE_WORD = re.compile(r"\b(codigo|cod|code)\b")


def talks_of_a_code(turn: Turn) -> bool:
    """The message speaks of the client code but holds none, nor a place ("n sei meu codigo",
    "nao tenho codigo", "no se mi codigo"): the answer to the prompt's "if you have your code"."""
    text = fold(turn.text)
    if not _CODE_WORD.search(text) or any(ch.isdigit() for ch in text):
        return False
    found = turn.understanding.entities if turn.understanding is not None else ()
    return not any(e.kind in (EntityKind.ADDRESS, EntityKind.CEP) for e in found)


def _spelled_like_a_code(word: str) -> bool:
    """ "OZB-7KQ2MX", "cliente_42", "123|123", "4512-77"; not a house number ("900", "900-A")."""
    if not looks_like_code(word):
        return False
    letters = len(_LETTER.findall(word))
    return letters >= 2 or "|" in word or "_" in word or (letters == 0 and "-" in word)


def place_dict(place: Place) -> dict[str, Any]:
    return {"address": place.address, "lat": place.lat, "lng": place.lng}


async def _pin(turn: Turn, lat: float, lng: float) -> PlaceFound:
    try:
        place = await turn.services.geocoder.reverse(lat, lng)
    except InvalidInput:
        turn.say(turn.t("geo.location_invalid"))
        return "unclear"
    address = place.address if place is not None else turn.t("outage.pin_place")
    # the pin itself is more exact than the address the reverse geocoder matched it to
    found = {"address": address, "lat": lat, "lng": lng}
    outage_data(turn)["place"] = found
    return found


def _offer(turn: Turn, places: list[Place]) -> PlaceFound:
    if not places:
        turn.say(turn.t("outage.address_not_found"), ask_location=True)
        return "unclear"
    if len(places) == 1:
        found = place_dict(places[0])
        outage_data(turn)["place"] = found
        return found
    outage_data(turn)["candidates"] = [place_dict(p) for p in places[:CANDIDATES]]
    return "ambiguous"


async def _street_and_number(turn: Turn, number: str) -> PlaceFound:
    data = outage_data(turn)
    cep = data["cep"]
    data["number"] = number
    query = ", ".join(p for p in (cep["street"], number, cep["city"]) if p)
    return _offer(turn, await turn.services.geocoder.geocode(query, limit=CANDIDATES))


async def read_place(turn: Turn) -> PlaceFound:
    """A pin, typed coordinates, a CEP (with or without the number) or a typed address."""
    if turn.message.location is not None:
        return await _pin(turn, turn.message.location.lat, turn.message.location.lng)
    text = turn.text
    coordinates = parse_coordinates(text)
    if coordinates is not None:
        return await _pin(turn, *coordinates)
    cep_code = parse_cep(text)
    if cep_code is not None:
        found = await turn.services.ceps.lookup(cep_code)
        if found is None or not found.street:
            turn.say(turn.t("geo.cep_not_found", cep=format_cep(cep_code)))
            return "unclear"
        outage_data(turn)["cep"] = {"cep": cep_code, "street": found.street, "city": found.city}
        number = parse_house_number(text)
        if number is None:
            return "needs_number"
        return await _street_and_number(turn, number)
    if len(_LETTER.findall(text)) < 3:
        turn.say(turn.t("outage.unclear"), ask_location=True)
        return "unclear"
    places = await turn.services.geocoder.geocode(text, limit=CANDIDATES)
    if len(places) == 1 and _whole_street(places[0]) and parse_house_number(text) is None:
        # "lauro linhares": an outage is in a part of a street, and the street's midpoint may
        # be out of it; the number tells where (asked as for a CEP)
        street = places[0]
        outage_data(turn)["cep"] = {"cep": street.cep, "street": street.street, "city": street.city}
        return "needs_number"
    return _offer(turn, places)


def _whole_street(place: Place) -> bool:
    """A street found without a house number on it (its midpoint)."""
    return bool(place.street) and not place.number


async def read_number(turn: Turn) -> PlaceFound:
    """The house number on the CEP's street (a new address or pin is read as such)."""
    number = parse_house_number(turn.text)
    if number is None or turn.message.location is not None or parse_cep(turn.text):
        return await read_place(turn)
    return await _street_and_number(turn, number)


async def choose_place(turn: Turn) -> PlaceFound:
    """One of the candidates offered; "none" asks again; anything else is read as a place."""
    candidates = outage_data(turn).get("candidates") or []
    said = turn.button
    if said is not None and said.startswith("place:"):
        index = int(said.removeprefix("place:"))
        if 0 <= index < len(candidates):
            outage_data(turn)["place"] = candidates[index]
            return dict(candidates[index])
    if said == "none":
        return "retry"
    return await read_place(turn)
