"""Sales: find the customer's address, ask OZmap whether a free port serves it, and reserve one
(or record a prospect).

The address comes typed, as a CEP plus the house number, or as a location pin (reverse-geocoded
to something readable). The customer confirms it, or picks among up to three candidates. What
OZmap answers is decided in :mod:`bot.ozmap.sales` (``Services.sales``): the boxes to try, nearest
first, or the condominium the customer is in. In a condominium the bot asks for the unit first (a
unit given already, "n° 1200 apto 302", is not asked). Then the plans, listed once (not when the
customer named one on the way), the name (and CPF when the provider requires it), a summary, and
the reservation: a property with a not-yet-implanted client on the first of those boxes that
still has a free port. Without coverage the customer's interest becomes an OZmap prospect.

The reservation code (the provider's template, an ERP can match it) is made and saved when the
summary is shown, and the reservation looks it up in OZmap first, so a repeated or retried "yes"
never reserves twice.
"""

from __future__ import annotations

from typing import Any

from bot.engine import FlowSpec, Row, Translate, Turn, back_to_menu
from bot.engine.dialogue import CHOOSING_KEY
from bot.messages import Button
from bot.nlu.base import Expect
from bot.ozmap.sales import reservations
from bot.validation import mask_cpf
from flows.address import geocoded, read_address, read_number, sales
from flows.common import answer, offer_places
from flows.plan_choice import list_plans, offered_plans, plan_by_rank
from flows.sales_states import Outcome, State
from flows.sales_steps import (
    choose_place,
    confirm_place,
    known_plan,
    read_cpf,
    read_name,
    read_unit,
)
from flows.sales_summary import read_prospect_name, reserve

__all__ = ["FLOW", "Outcome", "State", "answer"]

S, O = State, Outcome  # noqa: E741  # the table reads better with one-letter names
#: states where the customer may (re)send an address: typed, CEP or pin
ADDRESSING = [S.ASK_ADDRESS, S.CHOOSE_ADDRESS, S.CONFIRM_ADDRESS]
#: states where the customer confirms a place, after which feasibility is checked
PLACED = [S.CHOOSE_ADDRESS, S.CONFIRM_ADDRESS]
#: states after the address was confirmed, where a correction finds and confirms it anew
LATER = [S.ASK_UNIT, S.ASK_NAME, S.ASK_CPF, S.CONFIRM]

TRANSITIONS: list[list[Any]] = [
    # outcome          source                       dest
    [O.START,          S.START,                     S.ASK_ADDRESS],
    [O.FOUND,          [*ADDRESSING, S.ASK_NUMBER, *LATER], S.CONFIRM_ADDRESS],
    [O.AMBIGUOUS,      [*ADDRESSING, S.ASK_NUMBER, *LATER], S.CHOOSE_ADDRESS],
    [O.NEEDS_NUMBER,   [*ADDRESSING, *LATER],       S.ASK_NUMBER],
    [O.NOT_FOUND,      [*ADDRESSING, S.ASK_NUMBER, *LATER], S.ASK_ADDRESS],
    [O.RETRY,          [*PLACED, *LATER],           S.ASK_ADDRESS],
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
    # a unit, a name or a CPF corrected: noted, the same question (or summary) again
    [O.CHANGED,        S.CONFIRM_ADDRESS,           S.CONFIRM_ADDRESS],
    [O.CHANGED,        S.ASK_UNIT,                  S.ASK_UNIT],
    [O.CHANGED,        S.ASK_NAME,                  S.ASK_NAME],
    [O.CHANGED,        S.ASK_CPF,                   S.ASK_CPF],
    [O.CHANGED,        S.CONFIRM,                   S.CONFIRM],
    [O.FIX_NAME,       S.CONFIRM,                   S.ASK_NAME],
    [O.UNCLEAR,        [*ADDRESSING, S.ASK_NUMBER, S.ASK_UNIT, S.ASK_NAME, S.ASK_CPF, S.CONFIRM,
                        S.ASK_PROSPECT_NAME],       None],
]  # fmt: skip

# -- what the bot says on entering a state (pure) ------------------------------------------------


def begin(turn: Turn) -> None:
    turn.context["sales"] = {}  # a new pass: nothing from an earlier one, code included
    turn.context.pop(CHOOSING_KEY, None)
    plan = plan_by_rank(turn, offered_plans(turn))
    if plan is not None:  # "quero o mais barato, rua x 500": chosen (not the street's 500)
        sales(turn)["plan"] = plan.id
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
    offer_places(turn, sales(turn)["candidates"], turn.t("sales.button.none_of_these"))


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
    plan = known_plan(turn)
    plans = offered_plans(turn)
    if plan is not None:
        lines.append(t("sales.summary.plan", plan=plan.label))
    elif plans:
        # the plans listed in the text, chosen by naming one ("o de 500", "o mais barato", a
        # yes with it): three buttons stay three (WhatsApp's quick replies), and a plain yes
        # reserves with the plan left to the team, so a sale takes no message more
        lines.append(t("sales.summary.plans", plans=" | ".join(p.label for p in plans)))
        lines.append(t("sales.summary.choose_plan", example=plans[0].label.split(" · ")[0]))
    lines.append(t("sales.summary.question"))
    turn.say(
        "\n".join(lines),
        Button("yes", t("sales.button.reserve")),
        Button("retry", t("sales.button.change_address")),
        Button("no", t("sales.button.not_now")),
    )


def reserved(turn: Turn) -> None:
    latest = reservations(turn.context)[-1]
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


def leaving(t: Translate) -> str:
    return t("sales.leaving")


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
    leaving=leaving,
    options=list_plans,
)
