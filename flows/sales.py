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
from typing import Any

from bot.engine import FlowSpec, Jump, Row, Services, Turn, back_to_menu
from bot.errors import ReservationUnconfirmed
from bot.messages import Button
from bot.nlu.base import Expect
from bot.ozmap.sales import Booking, remember_reservation
from bot.validation import mask_cpf, normalize_cpf
from flows.address import geocoded, read_address, read_number, sales
from flows.common import answer
from flows.sales_states import Outcome, State

__all__ = ["FLOW", "Outcome", "State", "answer"]

S, O = State, Outcome  # noqa: E741  # the table reads better with one-letter names
#: states where the customer may (re)send an address: typed, CEP or pin
ADDRESSING = [S.ASK_ADDRESS, S.CHOOSE_ADDRESS, S.CONFIRM_ADDRESS]
#: states where the customer confirms a place, after which feasibility is checked
PLACED = [S.CHOOSE_ADDRESS, S.CONFIRM_ADDRESS]

TRANSITIONS: list[list[Any]] = [
    # outcome          source                       dest
    [O.START,          S.START,                     S.ASK_ADDRESS],
    [O.FOUND,          [*ADDRESSING, S.ASK_NUMBER], S.CONFIRM_ADDRESS],
    [O.AMBIGUOUS,      [*ADDRESSING, S.ASK_NUMBER], S.CHOOSE_ADDRESS],
    [O.NEEDS_NUMBER,   ADDRESSING,                  S.ASK_NUMBER],
    [O.NOT_FOUND,      [*ADDRESSING, S.ASK_NUMBER], S.ASK_ADDRESS],
    [O.RETRY,          [*PLACED, S.CONFIRM],        S.ASK_ADDRESS],
    [O.COVERED,        PLACED,                      S.ASK_NAME],
    [O.CONDOMINIUM,    PLACED,                      S.ASK_UNIT],
    [O.NOT_COVERED,    PLACED,                      S.ASK_PROSPECT_NAME],
    [O.UNIT_GIVEN,     S.ASK_UNIT,                  S.ASK_NAME],
    [O.NAMED,          S.ASK_NAME,                  S.CONFIRM],
    [O.NEEDS_CPF,      S.ASK_NAME,                  S.ASK_CPF],
    [O.CPF_OK,         S.ASK_CPF,                   S.CONFIRM],
    [O.RESERVED,       S.CONFIRM,                   S.RESERVED],
    [O.PORTS_GONE,     S.CONFIRM,                   S.PORTS_GONE],
    [O.RECORDED,       S.ASK_PROSPECT_NAME,         S.PROSPECT],
    [O.UNCLEAR,        [*ADDRESSING, S.ASK_NUMBER, S.ASK_UNIT, S.ASK_NAME, S.ASK_CPF, S.CONFIRM,
                        S.ASK_PROSPECT_NAME],       None],
]  # fmt: skip

_LETTER = re.compile(r"[^\W\d_]")
OBSERVATION = "Reserva de porta pelo chatbot ozbot ({channel})"


def services(turn: Turn) -> Services:
    result: Services = turn.services
    return result


# -- what the bot says on entering a state (pure) ------------------------------------------------


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


def ports_gone(turn: Turn) -> None:
    # covered, but the last free ports went while the customer confirmed: their interest is a
    # prospect now, said once (not also as "the fibre will reach you")
    turn.say(turn.t("sales.ports_gone"))


def ask_prospect_name(turn: Turn) -> None:
    t = turn.t
    turn.say(t("sales.ask_prospect_name"), Button("no", t("sales.button.no_thanks")))


def prospect_recorded(turn: Turn) -> None:
    turn.say(turn.t("sales.prospect_recorded", name=sales(turn).get("name", "")))


# -- steps (they may call OZmap and the geocoder) ------------------------------------------------


async def check_feasibility(turn: Turn, place: dict[str, Any]) -> Outcome:
    """OZmap decides (bot.ozmap.sales): the boxes to try, nearest first, or a condominium."""
    data = sales(turn)
    data["place"] = place
    coverage = await services(turn).sales.coverage(
        place["lat"], place["lng"], street=place.get("street"), number=place.get("number")
    )
    data["feasibility"] = coverage.to_context()
    if not coverage.covered:
        turn.say(turn.t("sales.not_covered"))
        return O.NOT_COVERED
    turn.say(turn.t("sales.covered"))
    return O.CONDOMINIUM if coverage.kind == "condominium" else O.COVERED


async def confirm_place(turn: Turn) -> Outcome:
    said = answer(turn)
    if said == "yes":
        return await check_feasibility(turn, sales(turn)["candidates"][0])
    if said == "no":
        turn.say(turn.t("sales.retry"))
        return O.RETRY
    if turn.message.location is not None or (turn.text and said is None):
        return await read_address(turn)  # a corrected address, sent straight away
    turn.say(turn.t("sales.yes_or_no"))
    return O.UNCLEAR


async def choose_place(turn: Turn) -> Outcome:
    said = answer(turn)
    candidates = sales(turn)["candidates"]
    if said is not None and said.startswith("place:"):
        index = int(said.removeprefix("place:"))
        if 0 <= index < len(candidates):
            return await check_feasibility(turn, candidates[index])
    if said in ("none", "no"):
        turn.say(turn.t("sales.retry"))
        return O.RETRY
    if turn.message.location is not None or turn.text:
        return await read_address(turn)
    turn.say(turn.t("sales.pick_one"))
    return O.UNCLEAR


async def read_unit(turn: Turn) -> Outcome:
    unit = " ".join(turn.text.split())
    if not unit or len(unit) > 40:
        turn.say(turn.t("sales.unit_unclear"))
        return O.UNCLEAR
    sales(turn)["unit"] = unit
    return O.UNIT_GIVEN


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


async def read_name(turn: Turn) -> Outcome:
    name = _name(turn)
    if name is None:
        return O.UNCLEAR
    sales(turn)["name"] = name
    if services(turn).require_cpf:
        return O.NEEDS_CPF
    await _prepare_summary(turn)
    return O.NAMED


async def read_cpf(turn: Turn) -> Outcome:
    digits = normalize_cpf(turn.text)
    if digits is None:
        turn.say(turn.t("sales.cpf_invalid"))
        return O.UNCLEAR
    sales(turn)["cpf"] = digits
    await _prepare_summary(turn)
    return O.CPF_OK


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


async def reserve(turn: Turn) -> Outcome | Jump:
    said = answer(turn)
    if said == "retry":
        turn.say(turn.t("sales.retry"))
        return O.RETRY
    if said == "no":
        turn.say(turn.t("sales.not_reserved"))
        return Jump("menu")
    if said != "yes":
        turn.say(turn.t("sales.yes_or_no"))
        return O.UNCLEAR
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
    reservations: list[dict[str, Any]] = turn.context.setdefault("reservations", [])
    try:
        # an earlier attempt that got through (its answer lost) is found by the code, not redone
        created = await svc.sales.reserve(booking, data["feasibility"]["boxes"])
    except ReservationUnconfirmed:
        # OZmap may hold it: kept as this contact's, so "sim" checks again and "cancelar" finds it
        remember_reservation(reservations, code=code, address=address, at=svc.clock())
        turn.say(
            turn.t("sales.reservation_unconfirmed", code=code),
            Button("yes", turn.t("sales.button.check_again")),
            Button("intent:cancel", turn.t("menu.option.cancel")),
        )
        return O.UNCLEAR
    if created is None:
        await _record_prospect(turn)
        return O.PORTS_GONE
    remember_reservation(
        reservations, code=code, address=address, at=svc.clock(), property_id=created.id
    )
    return O.RESERVED


async def read_prospect_name(turn: Turn) -> Outcome | Jump:
    if answer(turn) == "no":
        turn.say(turn.t("sales.prospect_declined"))
        return Jump("menu")
    name = _name(turn)
    if name is None:
        return O.UNCLEAR
    sales(turn)["name"] = name
    await _record_prospect(turn)
    return O.RECORDED


E = Expect
ROWS = [
    #   state                 says               expects        step
    Row(S.ASK_ADDRESS,        ask_address,       E.ADDRESS,     read_address),
    Row(S.ASK_NUMBER,         ask_number,        E.NUMBER,      read_number),
    Row(S.CONFIRM_ADDRESS,    confirm_address,   E.YES_NO,      confirm_place),
    Row(S.CHOOSE_ADDRESS,     choose_address,    E.OPTION,      choose_place),
    Row(S.ASK_UNIT,           ask_unit,          E.UNIT,        read_unit),
    Row(S.ASK_NAME,           ask_name,          E.NAME,        read_name),
    Row(S.ASK_CPF,            ask_cpf,           E.CPF,         read_cpf),
    Row(S.CONFIRM,            summary,           E.YES_NO,      reserve),
    Row(S.ASK_PROSPECT_NAME,  ask_prospect_name, E.NAME,        read_prospect_name),
    # finished: the customer owes no answer (no nudge); whatever comes next starts at the menu
    Row(S.RESERVED,           reserved,          rests=True,    step=back_to_menu),
    Row(S.PORTS_GONE,         ports_gone,        rests=True,    step=back_to_menu),
    Row(S.PROSPECT,           prospect_recorded, rests=True,    step=back_to_menu),
]  # fmt: skip

FLOW = FlowSpec(
    name="sales",
    summary="address, feasibility, then a port reservation or a prospect",
    states=State,
    initial=State.START,
    outcomes=Outcome,
    transitions=TRANSITIONS,
    rows=ROWS,
    on_begin=begin,
    lookups=geocoded,
)
