"""Sales: find the customer's address, ask OZmap whether a free port serves it, and reserve one
(or record a prospect).

The address comes typed, as a CEP plus the house number, or as a location pin (reverse-geocoded
to something readable). The customer confirms it, or picks among up to three candidates. What
OZmap answers is decided in :mod:`bot.ozmap.sales` (``Services.sales``): the boxes to try, nearest
first, or the condominium the customer is in. In a condominium the bot asks for the unit; then the
name (and CPF when the provider requires it), a summary, and the reservation: a property with a
not-yet-implanted client on the first of those boxes that still has a free port. Without coverage
the customer's interest becomes an OZmap prospect.

The reservation code (the provider's template, an ERP can match it) is made and saved when the
summary is shown, and the reservation looks it up in OZmap first, so a repeated or retried "yes"
never reserves twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from bot.engine import FlowSpec, Jump, Services, Turn, back_to_menu, normalize
from bot.errors import InvalidInput
from bot.geo.base import Lookups, Place
from bot.messages import Button
from bot.ozmap.sales import Booking
from bot.validation import (
    NO_NUMBER,
    format_cep,
    mask_cpf,
    normalize_cpf,
    parse_cep,
    parse_coordinates,
    parse_house_number,
)


class State(StrEnum):
    START = "start"
    ASK_ADDRESS = "ask_address"
    ASK_NUMBER = "ask_number"
    CHOOSE_ADDRESS = "choose_address"
    CONFIRM_ADDRESS = "confirm_address"
    ASK_UNIT = "ask_unit"
    ASK_NAME = "ask_name"
    ASK_CPF = "ask_cpf"
    CONFIRM = "confirm"
    RESERVED = "reserved"
    ASK_PROSPECT_NAME = "ask_prospect_name"
    PROSPECT = "prospect"


S = State
#: states where the customer may (re)send an address: typed, CEP or pin
ADDRESSING = [S.ASK_ADDRESS, S.CHOOSE_ADDRESS, S.CONFIRM_ADDRESS]
#: states where the customer confirms a place, after which feasibility is checked
PLACED = [S.CHOOSE_ADDRESS, S.CONFIRM_ADDRESS]

TRANSITIONS: list[list[Any]] = [
    # trigger         source                       dest
    ["start",         S.START,                     S.ASK_ADDRESS],
    ["found",         [*ADDRESSING, S.ASK_NUMBER], S.CONFIRM_ADDRESS],
    ["ambiguous",     [*ADDRESSING, S.ASK_NUMBER], S.CHOOSE_ADDRESS],
    ["needs_number",     ADDRESSING,                  S.ASK_NUMBER],
    ["not_found",     [*ADDRESSING, S.ASK_NUMBER], S.ASK_ADDRESS],
    ["retry",         [*PLACED, S.CONFIRM],        S.ASK_ADDRESS],
    ["covered",       PLACED,                      S.ASK_NAME],
    ["condominium",   PLACED,                      S.ASK_UNIT],
    ["not_covered",   PLACED,                      S.ASK_PROSPECT_NAME],
    ["unit_given",    S.ASK_UNIT,                  S.ASK_NAME],
    ["named",         S.ASK_NAME,                  S.CONFIRM],
    ["needs_cpf",     S.ASK_NAME,                  S.ASK_CPF],
    ["cpf_ok",        S.ASK_CPF,                   S.CONFIRM],
    ["reserved",      S.CONFIRM,                   S.RESERVED],
    ["ports_gone",    S.CONFIRM,                   S.PROSPECT],
    ["recorded",      S.ASK_PROSPECT_NAME,         S.PROSPECT],
    # the step explained what it needs; the customer answers again in the same state
    ["unclear",       [*ADDRESSING, S.ASK_NUMBER, S.ASK_UNIT, S.ASK_NAME, S.ASK_CPF, S.CONFIRM,
                       S.ASK_PROSPECT_NAME],       None],
]  # fmt: skip

# Words a customer answers yes or no with, in the three languages (normalised).
YES = frozenset(
    {
        "sim", "s", "ss", "isso", "isso mesmo", "correto", "certo", "ok", "confirmo", "pode",
        "pode sim", "claro", "exato", "e esse", "sim e esse", "reservar", "quero",
        "yes", "y", "yep", "right", "correct", "si", "claro que si", "correcto",
    }
)  # fmt: skip
NO = frozenset(
    {"nao", "n", "errado", "incorreto", "nao e esse", "nenhum", "no", "nope", "wrong", "ninguno"}
)

_LETTER = re.compile(r"[^\W\d_]")
OBSERVATION = "Reserva de porta pelo chatbot ozbot ({channel})"


def answer(turn: Turn) -> str | None:
    """``"yes"``, ``"no"`` or a button payload, from a tapped button or a typed word."""
    if turn.button is not None:
        return turn.button
    said = normalize(turn.text)
    if said in YES:
        return "yes"
    if said in NO:
        return "no"
    return None


def sales(turn: Turn) -> dict[str, Any]:
    """This flow's part of the conversation's context."""
    data: dict[str, Any] = turn.context.setdefault("sales", {})
    return data


def geocoded(context: Mapping[str, Any]) -> Lookups:
    """What this flow asked the geocoder for the customer, as its context remembers it (so an
    erasure makes the geocoder forget it): the points of the places found or pinned, and the
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


def services(turn: Turn) -> Services:
    result: Services = turn.services
    return result


def place_dict(place: Place) -> dict[str, Any]:
    return {
        "address": place.address,
        "lat": place.lat,
        "lng": place.lng,
        "street": place.street,
        "number": place.number,
    }


# -- resets and prompts (pure) -------------------------------------------------------------------


def begin(turn: Turn) -> None:
    turn.context["sales"] = {}  # a new pass: nothing from an earlier one, code included
    turn.say(turn.t("sales.begin"))


def ask_address(turn: Turn) -> None:
    data = sales(turn)
    for key in ("candidates", "place", "cep", "feasibility", "unit"):
        data.pop(key, None)
    turn.say(turn.t("sales.ask_address"), ask_location=True)


def ask_number(turn: Turn) -> None:
    cep = sales(turn)["cep"]
    turn.say(turn.t("geo.ask_number", street=cep["street"]))


def confirm_address(turn: Turn) -> None:
    t = turn.t
    place = sales(turn)["candidates"][0]
    turn.say(
        t("geo.address_confirm", address=place["address"]),
        Button("yes", t("sales.button.right_address")),
        Button("no", t("sales.button.wrong_address")),
    )


def choose_address(turn: Turn) -> None:
    t = turn.t
    candidates = sales(turn)["candidates"]
    buttons = [Button(f"place:{i}", c["address"]) for i, c in enumerate(candidates)]
    turn.say(
        t("geo.address_choose"),
        *buttons,
        Button("none", t("sales.button.none_of_these")),
        ask_location=True,
    )


def ask_unit(turn: Turn) -> None:
    condo = sales(turn)["feasibility"]["condominium"]
    key = "sales.ask_unit.building" if condo["kind"] == "building" else "sales.ask_unit.horizontal"
    turn.say(turn.t(key, name=condo["name"]))


def ask_name(turn: Turn) -> None:
    turn.say(turn.t("sales.ask_name"))


def ask_cpf(turn: Turn) -> None:
    turn.say(turn.t("sales.ask_cpf"))


def summary(turn: Turn) -> None:
    t = turn.t
    data = sales(turn)
    lines = [
        t("sales.summary.title"),
        t("sales.summary.name", name=data["name"]),
        t("sales.summary.address", address=data["place"]["address"]),
    ]
    if data.get("unit"):
        lines.append(t("sales.summary.unit", unit=data["unit"]))
    if data.get("cpf"):
        lines.append(t("sales.summary.cpf", cpf=mask_cpf(data["cpf"])))
    lines.append(t("sales.summary.question"))
    turn.say(
        "\n".join(lines),
        Button("yes", t("sales.button.reserve")),
        Button("retry", t("sales.button.change_address")),
        Button("no", t("sales.button.not_now")),
    )


def reserved(turn: Turn) -> None:
    latest = turn.context["reservations"][-1]
    turn.say(turn.t("sales.reserved", code=latest["code"], address=latest["address"]))


def ask_prospect_name(turn: Turn) -> None:
    t = turn.t
    turn.say(t("sales.ask_prospect_name"), Button("no", t("sales.button.no_thanks")))


def prospect_recorded(turn: Turn) -> None:
    turn.say(turn.t("sales.prospect_recorded", name=sales(turn).get("name", "")))


# -- steps (they may call OZmap and the geocoder) ------------------------------------------------


def _offer(turn: Turn, places: list[Place], *, street_will_do: bool = False) -> str:
    """found / ambiguous / not_found, with the candidates saved for the next prompt."""
    if not places:
        turn.say(turn.t("sales.address_not_found"))
        return "not_found"
    if len(places) == 1 and places[0].street and not places[0].number and not street_will_do:
        # the street alone (its midpoint): the number decides which box is near
        place = places[0]
        sales(turn)["cep"] = {"cep": place.cep, "street": place.street, "city": place.city}
        return "needs_number"
    sales(turn)["candidates"] = [place_dict(p) for p in places[:3]]
    return "found" if len(places) == 1 else "ambiguous"


async def _pin(turn: Turn, lat: float, lng: float) -> str:
    try:
        place = await services(turn).geocoder.reverse(lat, lng)
    except InvalidInput:
        turn.say(turn.t("geo.location_invalid"))
        return "unclear"
    address = place.address if place is not None else turn.t("sales.pin_address", lat=lat, lng=lng)
    # the pin itself is more exact than the address the reverse geocoder matched it to
    candidate = place_dict(place) if place is not None else {"address": address}
    sales(turn)["candidates"] = [{**candidate, "lat": lat, "lng": lng}]
    return "found"


async def _street_and_number(turn: Turn, cep: dict[str, Any], number: str) -> str:
    # "s/n": the street alone, the customer confirms (or corrects) where on it
    query = ", ".join(
        p for p in (cep["street"], "" if number == NO_NUMBER else number, cep["city"]) if p
    )
    places = await services(turn).geocoder.geocode(query, limit=3)
    if not places:
        turn.say(turn.t("sales.number_not_found", street=cep["street"], number=number))
        return "not_found"
    return _offer(turn, places, street_will_do=number == NO_NUMBER)


async def read_address(turn: Turn) -> str:
    """A typed address, a CEP (with or without the number), coordinates, or a pin."""
    message = turn.message
    if message.location is not None:
        return await _pin(turn, message.location.lat, message.location.lng)
    text = turn.text
    coordinates = parse_coordinates(text)
    if coordinates is not None:
        return await _pin(turn, *coordinates)
    cep_code = parse_cep(text)
    if cep_code is not None:
        found = await services(turn).ceps.lookup(cep_code)
        if found is None or not found.street:
            # unknown, or a city-wide CEP that names no street
            turn.say(turn.t("geo.cep_not_found", cep=format_cep(cep_code)))
            return "unclear"
        cep = {"cep": cep_code, "street": found.street, "city": found.city}
        sales(turn)["cep"] = cep
        number = parse_house_number(text)
        if number is not None:
            return await _street_and_number(turn, cep, number)
        return "needs_number"
    if len(_LETTER.findall(text)) < 3:
        turn.say(turn.t("sales.address_unclear"), ask_location=True)
        return "unclear"
    return _offer(turn, await services(turn).geocoder.geocode(text, limit=3))


async def read_number(turn: Turn) -> str:
    number = parse_house_number(turn.text)
    if number is None:
        turn.say(turn.t("sales.number_unclear"))
        return "unclear"
    return await _street_and_number(turn, sales(turn)["cep"], number)


async def check_feasibility(turn: Turn, place: dict[str, Any]) -> str:
    """OZmap decides (bot.ozmap.sales): the boxes to try, nearest first, or a condominium."""
    data = sales(turn)
    data["place"] = place
    coverage = await services(turn).sales.coverage(
        place["lat"], place["lng"], street=place.get("street"), number=place.get("number")
    )
    data["feasibility"] = coverage.to_context()
    if not coverage.covered:
        turn.say(turn.t("sales.not_covered"))
        return "not_covered"
    turn.say(turn.t("sales.covered"))
    return "condominium" if coverage.kind == "condominium" else "covered"


async def confirm_place(turn: Turn) -> str:
    said = answer(turn)
    if said == "yes":
        return await check_feasibility(turn, sales(turn)["candidates"][0])
    if said == "no":
        turn.say(turn.t("sales.retry"))
        return "retry"
    if turn.message.location is not None or (turn.text and said is None):
        return await read_address(turn)  # a corrected address, sent straight away
    turn.say(turn.t("sales.yes_or_no"))
    return "unclear"


async def choose_place(turn: Turn) -> str:
    said = answer(turn)
    candidates = sales(turn)["candidates"]
    if said is not None and said.startswith("place:"):
        index = int(said.removeprefix("place:"))
        if 0 <= index < len(candidates):
            return await check_feasibility(turn, candidates[index])
    if said in ("none", "no"):
        turn.say(turn.t("sales.retry"))
        return "retry"
    if turn.message.location is not None or turn.text:
        return await read_address(turn)
    turn.say(turn.t("sales.pick_one"))
    return "unclear"


async def read_unit(turn: Turn) -> str:
    unit = " ".join(turn.text.split())
    if not unit or len(unit) > 40:
        turn.say(turn.t("sales.unit_unclear"))
        return "unclear"
    sales(turn)["unit"] = unit
    return "unit_given"


def _name(turn: Turn) -> str | None:
    name = " ".join(turn.text.split())
    if len(_LETTER.findall(name)) < 2 or len(name) > 120 or any(ch.isdigit() for ch in name):
        turn.say(turn.t("sales.name_unclear"))
        return None
    return name


async def _prepare_summary(turn: Turn) -> None:
    # saved with this turn, before the reserve turn: a retried "yes" finds the same code
    data = sales(turn)
    if "code" not in data:
        data["code"] = await services(turn).sales.new_code(cpf=data.get("cpf"))


async def read_name(turn: Turn) -> str:
    name = _name(turn)
    if name is None:
        return "unclear"
    sales(turn)["name"] = name
    if services(turn).require_cpf:
        return "needs_cpf"
    await _prepare_summary(turn)
    return "named"


async def read_cpf(turn: Turn) -> str:
    digits = normalize_cpf(turn.text)
    if digits is None:
        turn.say(turn.t("sales.cpf_invalid"))
        return "unclear"
    sales(turn)["cpf"] = digits
    await _prepare_summary(turn)
    return "cpf_ok"


async def _record_prospect(turn: Turn) -> None:
    data = sales(turn)
    place = data["place"]
    await services(turn).sales.record_prospect(
        name=data["name"],
        phone=turn.message.phone or "",
        address=place["address"],
        lat=place["lat"],
        lng=place["lng"],
        code=data.get("code"),
    )


async def reserve(turn: Turn) -> str | Jump:
    said = answer(turn)
    if said == "retry":
        turn.say(turn.t("sales.retry"))
        return "retry"
    if said == "no":
        turn.say(turn.t("sales.not_reserved"))
        return Jump("menu")
    if said != "yes":
        turn.say(turn.t("sales.yes_or_no"))
        return "unclear"
    svc = services(turn)
    data = sales(turn)
    code: str = data["code"]
    place = data["place"]
    address = place["address"] + (f" ({data['unit']})" if data.get("unit") else "")
    booking = Booking(
        code=code,
        name=data["name"],
        lat=place["lat"],
        lng=place["lng"],
        address=address,
        observation=OBSERVATION.format(channel=turn.message.channel),
        cpf=data.get("cpf"),  # into OZmap only where the provider opted in
    )
    # an earlier attempt that got through (its answer lost) is found by the code, not redone
    created = await svc.sales.reserve(booking, data["feasibility"]["boxes"])
    if created is None:
        await _record_prospect(turn)
        turn.say(turn.t("sales.ports_gone"))
        return "ports_gone"
    property_id = created.id
    reservations: list[dict[str, Any]] = turn.context.setdefault("reservations", [])
    if not any(r["code"] == code for r in reservations):
        reservations.append(
            {
                "code": code,
                "property_id": property_id,
                "address": address,
                "created_at": svc.clock().isoformat(),
            }
        )
    return "reserved"


async def read_prospect_name(turn: Turn) -> str | Jump:
    if answer(turn) == "no":
        turn.say(turn.t("sales.prospect_declined"))
        return Jump("menu")
    name = _name(turn)
    if name is None:
        return "unclear"
    sales(turn)["name"] = name
    await _record_prospect(turn)
    return "recorded"


FLOW = FlowSpec(
    name="sales",
    summary="address, feasibility, then a port reservation or a prospect",
    states=State,
    initial=State.START,
    transitions=TRANSITIONS,
    steps={
        S.ASK_ADDRESS: read_address,
        S.ASK_NUMBER: read_number,
        S.CONFIRM_ADDRESS: confirm_place,
        S.CHOOSE_ADDRESS: choose_place,
        S.ASK_UNIT: read_unit,
        S.ASK_NAME: read_name,
        S.ASK_CPF: read_cpf,
        S.CONFIRM: reserve,
        S.ASK_PROSPECT_NAME: read_prospect_name,
        S.RESERVED: back_to_menu,
        S.PROSPECT: back_to_menu,
    },
    prompts={
        S.ASK_ADDRESS: ask_address,
        S.ASK_NUMBER: ask_number,
        S.CONFIRM_ADDRESS: confirm_address,
        S.CHOOSE_ADDRESS: choose_address,
        S.ASK_UNIT: ask_unit,
        S.ASK_NAME: ask_name,
        S.ASK_CPF: ask_cpf,
        S.CONFIRM: summary,
        S.RESERVED: reserved,
        S.ASK_PROSPECT_NAME: ask_prospect_name,
        S.PROSPECT: prospect_recorded,
    },
    on_begin=begin,
    # finished: the customer owes no answer, so no nudge
    resting=frozenset({S.RESERVED, S.PROSPECT}),
    lookups=geocoded,
)
